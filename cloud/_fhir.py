"""FHIR R4 export: an alert as an Observation (with its ECG strip), the 24-hour
report as a DiagnosticReport. Plain JSON-ready dicts, no FHIR library at run
time (the tests validate every document with the ``fhir.resources`` models).

Codes
-----
* Event types: ISO/IEEE 11073-10102 annotated-ECG rhythm terms (system
  ``urn:iso:std:iso:11073:10101``, context-free code = partition * 65536 +
  term; e.g. MDC_ECG_RHY_ATR_FIB is 10:9472 = 664832), where one fits; every
  alert also carries this project's own type code (``urn:holter-edge:alert-type``)
  so types without an MDC term (pause, lead off, ...) are still coded.
* Observation.code: LOINC 8601-7 "EKG impression"; the finding goes in
  ``valueCodeableConcept``; numbers behind the alert in ``component``
  (heart rate: MDC_ECG_HEART_RATE 147842 and LOINC 8867-4, UCUM ``/min``).
* Interpretation (HL7 v3 ObservationInterpretation): critical -> AA, warning -> A;
  info alerts carry none.
* The strip: an Observation (MDC_ECG_ELEC_POTL 131328) with one component per
  lead (MDC_ECG_ELEC_POTL_I/II/III/V1..V6/aVR/aVL/aVF where the lead name
  matches) holding the samples as SampledData (origin 0 mV, factor
  1/units_per_mv mV, period in ms); the alert's ``derivedFrom`` points at it.
* The report: DiagnosticReport, LOINC 18754-2 "Holter monitor study",
  category v2-0074 EC; one Observation per number of the ``recording`` summary.

Patients are pseudonyms: ``subject`` is a logical reference by identifier
(system ``urn:holter-edge:site:<site>:patient``), never a name.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from cloud._records import AlertRecord

MDC = "urn:iso:std:iso:11073:10101"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ALERT_TYPE_SYSTEM = "urn:holter-edge:alert-type"
NUM_SYSTEM = "urn:holter-edge:num"
_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
_NAMESPACE = uuid.UUID("5b1f0a52-9a43-4d0e-8d0e-2f5c1b0c6d11")


def _mdc(partition: int, term: int) -> int:
    return partition * 65536 + term


#: alert type -> (the 11073-10102 term's meaning, context-free code), where one fits
#: (terms as listed in DICOM CID 3415 "Cardiac Rhythm").
MDC_EVENT_CODES: Mapping[str, tuple[str, int]] = {
    "vt": ("Ventricular Run", _mdc(10, 9968)),
    "nsvt": ("Nonsustained Ventricular Tachycardia (paroxysmal)", _mdc(10, 10032)),
    "sustained_vt": ("Sustained Monomorphic Ventricular Tachycardia", _mdc(10, 10048)),
    "af_onset": ("Atrial fibrillation", _mdc(10, 9472)),  # MDC_ECG_RHY_ATR_FIB
    "af_offset": ("Atrial fibrillation", _mdc(10, 9472)),
    "brady": ("Bradycardia", _mdc(10, 10432)),
    "tachy": ("Sinus Tachycardia", _mdc(10, 9264)),  # MDC_ECG_RHY_SINUS_TACHY
}
#: alert type -> words for people.
TYPE_TEXT: Mapping[str, str] = {
    "vt": "Ventricular run", "sustained_vt": "Sustained ventricular tachycardia",
    "nsvt": "Non-sustained ventricular tachycardia", "af_onset": "Atrial fibrillation onset",
    "af_offset": "Atrial fibrillation offset", "pause": "Pause", "brady": "Bradycardia",
    "tachy": "Tachycardia", "st": "ST episode", "risk_rise": "Risk rise", "lead_off": "Lead off",
    "poor_signal": "Poor signal", "device_silent": "Device silent", "stream_gap": "Stream gap",
}  # fmt: skip
MDC_HEART_RATE = ("MDC_ECG_HEART_RATE", 147842)
MDC_ELEC_POTL = ("MDC_ECG_ELEC_POTL", 131328)
#: lead name (upper case) -> (MDC reference id, code)
MDC_LEADS: Mapping[str, tuple[str, int]] = {
    "I": ("MDC_ECG_ELEC_POTL_I", 131329), "II": ("MDC_ECG_ELEC_POTL_II", 131330),
    "III": ("MDC_ECG_ELEC_POTL_III", 131389), "AVR": ("MDC_ECG_ELEC_POTL_AVR", 131390),
    "AVL": ("MDC_ECG_ELEC_POTL_AVL", 131391), "AVF": ("MDC_ECG_ELEC_POTL_AVF", 131392),
    **{f"V{k}": (f"MDC_ECG_ELEC_POTL_V{k}", 131330 + k) for k in range(1, 7)},
}  # fmt: skip
_UNITS = (  # name suffix -> (UCUM code, human unit)
    ("_bpm", "/min", "beats/minute"), ("_ms", "ms", "ms"), ("_s", "s", "s"),
    ("_uv", "uV", "µV"), ("_mv", "mV", "mV"), ("_pct", "%", "%"), ("_count", "{count}", "count"),
    ("_n", "{count}", "count"), ("_hz", "Hz", "Hz"),
)  # fmt: skip


def iso_utc(epoch_ms: int) -> str:
    """An epoch-millisecond instant as an ISO 8601 UTC dateTime (``...Z``)."""
    moment = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, '/'.join(parts))}"


def _subject(site: str, patient: str) -> dict[str, Any]:
    return {"identifier": {"system": f"urn:holter-edge:site:{site}:patient", "value": patient}}


def _quantity(name: str, value: float) -> dict[str, Any]:
    for suffix, code, unit in _UNITS:
        if name.endswith(suffix):
            return {"value": value, "unit": unit, "system": UCUM, "code": code}
    return {"value": value, "unit": "1", "system": UCUM, "code": "1"}


def _num_code(name: str) -> dict[str, Any]:
    codings = [{"system": NUM_SYSTEM, "code": name}]
    if name.startswith("hr_") and name.endswith("_bpm"):
        codings.insert(0, {"system": MDC, "code": str(MDC_HEART_RATE[1]), "display": MDC_HEART_RATE[0]})
        codings.insert(1, {"system": LOINC, "code": "8867-4", "display": "Heart rate"})
    return {"coding": codings, "text": name}


def _finding(alert_type: str) -> dict[str, Any]:
    codings: list[dict[str, Any]] = []
    if alert_type in MDC_EVENT_CODES:
        refid, code = MDC_EVENT_CODES[alert_type]
        codings.append({"system": MDC, "code": str(code), "display": refid})
    text = TYPE_TEXT.get(alert_type, alert_type)
    codings.append({"system": ALERT_TYPE_SYSTEM, "code": alert_type, "display": text})
    return {"coding": codings, "text": text}


def strip_observation(alert: AlertRecord, strip: Any) -> dict[str, Any]:
    """The ECG strip of ``alert`` as an Observation with one SampledData per lead.

    ``strip`` is an :class:`edge._payload_evidence.Strip` (interleaved int16
    samples, ``units_per_mv`` units to the millivolt).
    """
    period_ms = 1000.0 / strip.fs_hz
    components = []
    k = len(strip.leads)
    for lead_index, lead in enumerate(strip.leads):
        refid, code = MDC_LEADS.get(lead.upper(), (MDC_ELEC_POTL[0], MDC_ELEC_POTL[1]))
        values = strip.samples[lead_index::k]
        components.append({
            "code": {"coding": [{"system": MDC, "code": str(code), "display": refid}], "text": f"lead {lead}"},
            "valueSampledData": {
                "origin": {"value": 0, "unit": "mV", "system": UCUM, "code": "mV"},
                "period": round(period_ms, 6),
                "factor": 1.0 / strip.units_per_mv,
                "dimensions": 1,
                "data": " ".join(str(v) for v in values) or "E",
            },
        })  # fmt: skip
    beats = ", ".join(f"{symbol}@{offset / strip.fs_hz:.3f}s" for offset, symbol in strip.beats)
    return {
        "resourceType": "Observation",
        "id": f"strip-{alert.id}",
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "procedure"}]}],
        "code": {"coding": [{"system": MDC, "code": str(MDC_ELEC_POTL[1]), "display": MDC_ELEC_POTL[0]}],
                 "text": "ECG strip"},  # fmt: skip
        "subject": _subject(alert.site, alert.patient),
        "effectivePeriod": {
            "start": iso_utc(strip.start_ms),
            "end": iso_utc(strip.start_ms + round(strip.n_samples * period_ms)),
        },
        "note": [{"text": f"Beats (MIT-BIH symbol @ seconds from the strip start): {beats or 'none'}"}],
        "component": components,
    }


def alert_observation(alert: AlertRecord, *, strip_url: str | None = None,
                      acknowledged_by: str | None = None) -> dict[str, Any]:  # fmt: skip
    """One alert as an Observation (``derivedFrom`` -> ``strip_url`` when given)."""
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": alert.id,
        "identifier": [{"system": "urn:holter-edge:alert-id", "value": alert.id}],
        "status": "final",
        "category": [{"coding": [{"system": _CATEGORY, "code": "procedure"}]}],
        "code": {"coding": [{"system": LOINC, "code": "8601-7", "display": "EKG impression"}]},
        "subject": _subject(alert.site, alert.patient),
        "effectivePeriod": {"start": iso_utc(alert.start_ms), "end": iso_utc(alert.end_ms)},
        "device": {"identifier": {"system": f"urn:holter-edge:site:{alert.site}:gateway",
                                  "value": alert.gateway}},  # fmt: skip
        "valueCodeableConcept": _finding(alert.type),
    }
    if alert.received_ms is not None:
        obs["issued"] = iso_utc(alert.received_ms)
    if alert.severity in ("critical", "warning"):
        code, text = ("AA", "Critical abnormal") if alert.severity == "critical" else ("A", "Abnormal")
        obs["interpretation"] = [{"coding": [{"system": _INTERPRETATION, "code": code, "display": text}],
                                  "text": alert.severity}]  # fmt: skip
    if acknowledged_by:
        obs["note"] = [{"text": f"Acknowledged by {acknowledged_by}"}]
    if strip_url is not None:
        obs["derivedFrom"] = [{"reference": strip_url, "display": "ECG strip"}]
    components = [
        {"code": _num_code(name), "valueQuantity": _quantity(name, value)}
        for name, value in sorted(alert.num.items())
    ]
    if components:
        obs["component"] = components
    return obs


def alert_bundle(alert: AlertRecord, strip: Any | None = None, *,
                 acknowledged_by: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A ``collection`` Bundle: the alert's Observation and, when stored, its strip's."""
    strip_url = _urn("strip", alert.id) if strip is not None else None
    entries = [{"fullUrl": _urn("alert", alert.id),
                "resource": alert_observation(alert, strip_url=strip_url, acknowledged_by=acknowledged_by)}]  # fmt: skip
    if strip is not None:
        entries.append({"fullUrl": strip_url, "resource": strip_observation(alert, strip)})
    return {"resourceType": "Bundle", "id": _urn("bundle", alert.id)[9:], "type": "collection",
            "timestamp": iso_utc(alert.received_ms or alert.end_ms), "entry": entries}  # fmt: skip


def report_bundle(site: str, patient: str, summary: Any,
                  alerts: Sequence[AlertRecord] = ()) -> dict[str, Any]:  # fmt: skip
    """The 24-hour report (a ``recording`` summary) as a DiagnosticReport in a Bundle.

    One Observation per number of the summary; the patient's alerts of that
    period are listed as further results (Observations without their strips).
    """
    period = {"start": iso_utc(summary.start_ms), "end": iso_utc(summary.end_ms)}
    entries: list[dict[str, Any]] = []
    results = []
    for name, value in sorted(summary.num.items()):
        url = _urn("report", site, patient, str(summary.start_ms), name)
        results.append({"reference": url, "display": name})
        entries.append({"fullUrl": url, "resource": {
            "resourceType": "Observation", "status": "final",
            "category": [{"coding": [{"system": _CATEGORY, "code": "procedure"}]}],
            "code": _num_code(name), "subject": _subject(site, patient),
            "effectivePeriod": period, "valueQuantity": _quantity(name, value),
        }})  # fmt: skip
    for alert in alerts:
        url = _urn("alert", alert.id)
        results.append({"reference": url, "display": TYPE_TEXT.get(alert.type, alert.type)})
        entries.append({"fullUrl": url, "resource": alert_observation(alert)})
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.type] = counts.get(alert.type, 0) + 1
    conclusion = "; ".join(f"{TYPE_TEXT.get(t, t)}: {n}" for t, n in sorted(counts.items()))
    report = {
        "resourceType": "DiagnosticReport",
        "id": re.sub(r"[^A-Za-z0-9.-]", "-", f"report-{site}-{patient}-{summary.start_ms}")[:64],
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                  "code": "EC", "display": "Electrocardiac (e.g., EKG, EEC, Holter)"}]}],
        "code": {"coding": [{"system": LOINC, "code": "18754-2", "display": "Holter monitor study"}]},
        "subject": _subject(site, patient),
        "effectivePeriod": period,
        "issued": iso_utc(getattr(summary, "received_ms", None) or summary.end_ms),
        "result": results,
        "conclusion": f"Alerts in the period: {conclusion}" if conclusion else "No alerts in the period",
    }  # fmt: skip
    entries.insert(0, {"fullUrl": _urn("diagnostic-report", site, patient, str(summary.start_ms)),
                       "resource": report})  # fmt: skip
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": iso_utc(summary.end_ms), "entry": entries}  # fmt: skip
