"""Task queues: one for the workflows and database work, one per connector so each can be held to the
vendor's rate limit with the queue's activities-per-second cap, one for email."""

MAIN = "renewals"
STRIPE = "connector-stripe"
EMAIL = "email"
CONNECTORS = {"hubspot": "connector-hubspot", "salesforce": "connector-salesforce", "slack": "connector-slack"}

# Activities per second each connector queue may start. One activity is a whole chunk of customers, so this
# only bounds bursts; the per-request pace under each vendor's limit is kept inside the activity
# (core/pacing.py: each tenant's pace with each vendor, shared by every worker process through PostgreSQL).
RATE_LIMITS = {STRIPE: 20.0, **{q: 5.0 for q in CONNECTORS.values()}}

# Queue groups a worker process may be told to poll (RENEWALS_WORKER_QUEUES, `renewals worker --queues`).
GROUPS = {"main": MAIN, "stripe": STRIPE, **CONNECTORS, "email": EMAIL}
