"""Task queues: one for the workflows and database work, one per connector so each can be held to the
vendor's rate limit with the queue's activities-per-second cap, one for email."""

MAIN = "renewals"
STRIPE = "connector-stripe"
EMAIL = "email"

# Requests per second each connector queue may start, under the vendors' documented limits
# (Stripe: 25/s in sandbox mode, 100/s live; we stay under the stricter).
RATE_LIMITS = {STRIPE: 20.0}
