"""The Prefect tooling side of the benchmark: what a user writes with the Prefect Python SDK.

Applies the same change set as openem-config (variables, secret blocks, tag concurrency limits,
work pools with template, limit and queues) the way Prefect's own API encourages: every call
"sets" its object with overwrite=True, so a second run sends the same writes again. Deployments
are not here: `prefect deploy --all` does them, as a user would.

Usage: python prefect_sdk_apply.py CHANGESET.json   (PREFECT_API_URL from the environment)
The change set is written by scripts/bench/lib/changeset.ts (mode 0600, benchmark values only).
"""
import json
import sys

from prefect import get_client
from prefect.blocks.system import Secret
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from prefect.variables import Variable


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        changes = json.load(handle)

    for variable in changes["variables"]:
        Variable.set(variable["name"], variable["value"], tags=variable["tags"], overwrite=True)

    for secret in changes["secrets"]:
        Secret(value=secret["value"]).save(secret["name"], overwrite=True)

    with get_client(sync_client=True) as client:
        for limit in changes["tagLimits"]:
            client.create_concurrency_limit(tag=limit["tag"], concurrency_limit=limit["limit"])

        for pool in changes["workPools"]:
            fields = {"name": pool["name"], "type": pool["type"]}
            for key in ("description", "base_job_template", "concurrency_limit", "is_paused"):
                if key in pool:
                    fields[key] = pool[key]
            client.create_work_pool(WorkPoolCreate(**fields), overwrite=True)
            for queue in pool.get("queues", []):
                settings = {key: queue[key] for key in ("priority", "concurrency_limit", "description", "is_paused") if key in queue}
                try:
                    client.create_work_queue(name=queue["name"], work_pool_name=pool["name"], **settings)
                except ObjectAlreadyExists:
                    existing = client.read_work_queue_by_name(queue["name"], work_pool_name=pool["name"])
                    if settings:
                        client.update_work_queue(existing.id, **settings)


if __name__ == "__main__":
    main(sys.argv[1])
