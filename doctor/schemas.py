"""The doctor's report as the API and `--json` give it."""

from __future__ import annotations

from pydantic import BaseModel

from doctor.facts import Findings, Violation


class ViolationOut(BaseModel):
    invariant: str
    subject: str
    message: str
    repair: str

    @classmethod
    def of(cls, v: Violation) -> ViolationOut:
        return cls.model_validate(v.to_dict())


class DoctorOut(BaseModel):
    clean: bool
    dashboard_checked: bool
    dashboard_error: str | None
    violations: list[ViolationOut]

    @classmethod
    def of(cls, findings: Findings) -> DoctorOut:
        return cls(
            clean=findings.clean,
            dashboard_checked=findings.dashboard_checked,
            dashboard_error=findings.dashboard_error,
            violations=[ViolationOut.of(v) for v in findings.violations],
        )
