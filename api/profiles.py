"""Weight profiles per segment: GET and PUT /v1/profiles, and the versions of the tenant's weighting.

Every change (here, or of the default weights in PUT /v1/settings) is a new version; verdicts and diary entries
cite the version that judged them, and the audit log keeps who changed what."""

from __future__ import annotations

from fastapi import APIRouter, Query

from api.deps import AdminDep, DbDep, OperatorDep
from api.errors import Forbidden, Unauthorized, Unprocessable, responses
from core.profiles import ProfilesIn, WeightVersion
from db import profiles as weight_versions
from db import tenants

router = APIRouter(prefix="/v1/profiles", tags=["settings"])


@router.get("", response_model=WeightVersion, responses=responses(Unauthorized))
async def get_profiles(op: OperatorDep, db: DbDep) -> WeightVersion:
    """The tenant's current weighting: its version, default weights and segment profiles in the order tried."""
    async with db.tenant(op.tenant_id) as conn:
        return await weight_versions.current(conn, op.tenant_id)


@router.put("", response_model=WeightVersion, responses=responses(Unauthorized, Forbidden, Unprocessable))
async def put_profiles(body: ProfilesIn, op: AdminDep, db: DbDep) -> WeightVersion:
    """Replace the segment profiles (admins): a new version, in the audit log. Each profile's weights must each be
    in [0, 1] and sum to 1.0, and its thresholds (with the defaults for any left out) must be ordered, else 422.
    The next scan judges each customer by the first profile whose rules match it."""
    async with db.tenant(op.tenant_id) as conn:
        before = await weight_versions.current(conn, op.tenant_id)
        after = await weight_versions.append(conn, op.tenant_id, op.name, body.profiles)
        await tenants.audit(
            conn,
            op.tenant_id,
            op.name,
            "profiles.changed",
            None,
            {
                "version": after.version,
                "from": [p.model_dump(mode="json") for p in before.profiles],
                "to": [p.model_dump(mode="json") for p in after.profiles],
            },
        )
    return after


@router.get("/versions", response_model=list[WeightVersion], responses=responses(Unauthorized))
async def list_versions(
    op: OperatorDep, db: DbDep, limit: int = Query(50, ge=1, le=500, description="newest first")
) -> list[WeightVersion]:
    """Every version of the tenant's weighting, newest first: what a diary entry's "weights version N" meant."""
    async with db.tenant(op.tenant_id) as conn:
        return await weight_versions.history(conn, op.tenant_id, limit)
