"""The regulatory requirements the checks are mapped to.

The catalogue lists every requirement of 21 CFR Part 11 and EU GMP Annex 11 that bears on storing
exported records, so the coverage matrix can show requirements no check covers instead of hiding them.
Check metadata refers to requirements by the ids below; an unknown id is a programming error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Requirement:
    id: str
    framework: str
    clause: str
    title: str


PART11 = "21 CFR Part 11"
ANNEX11 = "EU GMP Annex 11"

_CATALOGUE: tuple[Requirement, ...] = (
    Requirement("21CFR11.10(a)", PART11, "11.10(a)", "Validation; ability to discern invalid or altered records"),
    Requirement("21CFR11.10(b)", PART11, "11.10(b)", "Accurate and complete copies of records for inspection"),
    Requirement("21CFR11.10(c)", PART11, "11.10(c)", "Protection of records throughout the retention period"),
    Requirement("21CFR11.10(d)", PART11, "11.10(d)", "Limiting system access to authorized individuals"),
    Requirement("21CFR11.10(e)", PART11, "11.10(e)", "Secure, time-stamped audit trails"),
    Requirement("21CFR11.10(f)", PART11, "11.10(f)", "Operational system checks to enforce sequencing"),
    Requirement("21CFR11.10(g)", PART11, "11.10(g)", "Authority checks"),
    Requirement("21CFR11.10(h)", PART11, "11.10(h)", "Device checks on the source of data input"),
    Requirement("21CFR11.10(k)", PART11, "11.10(k)", "Controls over systems documentation"),
    Requirement("21CFR11.30", PART11, "11.30", "Controls for open systems (encryption, integrity in transit)"),
    Requirement("21CFR11.300", PART11, "11.300", "Controls for identification codes and passwords"),
    Requirement("EUAnnex11-1", ANNEX11, "1", "Risk management"),
    Requirement("EUAnnex11-3", ANNEX11, "3", "Suppliers and service providers"),
    Requirement("EUAnnex11-4", ANNEX11, "4", "Validation"),
    Requirement("EUAnnex11-5", ANNEX11, "5", "Data exchanged electronically: built-in checks"),
    Requirement("EUAnnex11-7.1", ANNEX11, "7.1", "Data storage: secured against damage; accessible and readable"),
    Requirement("EUAnnex11-7.2", ANNEX11, "7.2", "Regular back-ups; integrity and accuracy of backup data"),
    Requirement("EUAnnex11-9", ANNEX11, "9", "Audit trails"),
    Requirement("EUAnnex11-10", ANNEX11, "10", "Change and configuration management"),
    Requirement("EUAnnex11-11", ANNEX11, "11", "Periodic evaluation"),
    Requirement("EUAnnex11-12.1", ANNEX11, "12.1", "Security: physical and logical controls restrict access"),
    Requirement("EUAnnex11-12.4", ANNEX11, "12.4", "Security: identity of operators recorded"),
    Requirement("EUAnnex11-16", ANNEX11, "16", "Business continuity"),
    Requirement("EUAnnex11-17", ANNEX11, "17", "Archiving: accessibility, readability and integrity"),
)

REQUIREMENTS: dict[str, Requirement] = {r.id: r for r in _CATALOGUE}


def requirement(requirement_id: str) -> Requirement:
    try:
        return REQUIREMENTS[requirement_id]
    except KeyError:
        known = ", ".join(REQUIREMENTS)
        raise KeyError(f"unknown control reference {requirement_id!r}; known: {known}") from None
