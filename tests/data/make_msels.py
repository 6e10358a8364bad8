# ruff: noqa: E501 (the CSV is written as Excel writes it, one record a line)
"""Writes the four planner MSELs in this folder (run: python tests/data/make_msels.py).

They are written the way exercise planners write them, not the way Cascade exports:

- ``hseep-title-rows.xlsx``: the HSEEP MSEL columns (Event No., Time, Event Type, From, To,
  Message/Inject, Expected Action, Objective, Core Capability, Method, Notes) below three
  title rows; no stage column; times are offsets from the exercise start; a row marked
  "under TLP:AMBER" in its text, a conditional row, a "Briefing" method.
- ``ctep-moves.xlsx``: a CISA CTEP-style sheet with Move, Inject #, Inject Description,
  Method, Core Capability and a Status column Cascade has no field for.
- ``clock-time.xlsx``: a control cell's sheet in clock time (09:00 ...), as time cells.
- ``cp1252-semicolons.csv``: a German Excel "CSV (Trennzeichen-getrennt)": cp1252 text,
  semicolons, a title line, European characters (é, ü, €, –).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent

HSEEP = [
    ["Exercise Riverside Cascade 2026"],
    ["Master Scenario Events List (MSEL)"],
    ["TLP:GREEN — for exercise planners and controllers"],
    [],
    ["Event No.", "Time", "Event Type", "From", "To", "Message/Inject", "Expected Action",
     "Objective", "Core Capability", "Method", "Notes"],
    [1, "0:00", "Inject", "SimCell (CISA Region 4)", "All players",
     "StartEx: situation briefing\nRegional ransomware campaign reported against utilities.",
     "Teams review the briefing and activate their plans.", "Objective 1: Assess the threat",
     "Situational Assessment", "Briefing", "Read aloud by the lead controller."],
    [2, "0:10", "Inject", "Water utility SOC", "Riverside Water Authority",
     "SCADA historian unreachable\nOperators report the historian is down since 08:52.",
     "Isolate the OT network; notify the state primacy agency.",
     "Objective 2: Protect operations", "Operational Coordination", "Phone", ""],
    [3, "0:25", "Inject", "Hospital IT", "Riverside Hospital",
     "Patient portal defaced\nShared under TLP:AMBER with the sector ISAC only.",
     "Activate the incident command system.", "Objective 2: Protect operations",
     "Public Health, Healthcare, and EMS", "Email", "Severity: high"],
    [4, "0:40", "Inject", "Savings Credit Union", "Savings Credit Union; Riverside Hospital",
     "Card payments failing at the hospital pharmacy",
     "Coordinate a manual payment fallback.", "Objective 3: Coordinate across sectors",
     "Economic Recovery; RS.CO", "Phone call", ""],
    [5, "1:00", "Contingency", "SimCell", "Riverside Hospital",
     "Only if the credit union chose to switch its payment processor\n"
     "The new processor asks the hospital to re-register its terminals.",
     "Decide whether to re-register during the incident.", "", "", "Email", ""],
    [6, "1:15", "Inject", "Local TV", "All players",
     "Local news: water safety questioned", "Issue a joint public statement.",
     "Objective 4: Inform the public", "Public Information and Warning", "Press", ""],
    [7, "2:00", "Inject", "Lead controller", "All players", "Hot wash",
     "Each team names one strength and one gap.", "", "", "In person", "EndEx at 2:30."],
]  # fmt: skip

CTEP = [
    ["CISA Tabletop Exercise Package — Cross-Sector Cyber Incident"],
    ["Move", "Inject #", "Time", "Method", "From", "To", "Inject Description",
     "Expected Action", "Core Capability", "Status"],
    [1, "1-1", "0:00", "Email", "Cloud provider status page", "Cloud Provider; Regional Bank",
     "Storage service degraded\nCustomers report failed uploads in eu-west.",
     "Confirm impact; open a customer incident.", "Operational Communications", "Ready"],
    [1, "1-2", "0:20", "SIEM alert", "Bank SOC", "Regional Bank",
     "Anomalous logins from the provider's support tenant",
     "Revoke provider access tokens.", "Cybersecurity", "Ready"],
    [2, "2-1", "0:45", "Phone", "Regulator hotline", "Regional Bank",
     "Supervisor requests a preliminary incident report within 4 hours",
     "Draft the notification.", "Operational Coordination", "Draft"],
    [2, "2-2", "1:05", "Social Media", "@RiversideNews", "All",
     "Customers post screenshots of failed transfers",
     "Agree on public messaging.", "Public Information and Warning", "Ready"],
    [3, "3-1", "1:30", "Radio", "Cloud provider", "Cloud Provider",
     "Root cause found: compromised support credentials",
     "Plan recovery and credential rotation.", "Infrastructure Systems", "Ready"],
]  # fmt: skip

CLOCK = [
    ["Stage", "Time", "From", "To", "Inject", "Method", "TLP"],
    ["Detection", dt.time(9, 0), "Control", "Grid Operator", "Frequency anomaly at substation 7",
     "SIEM alert", "TLP:GREEN"],
    ["Detection", dt.time(9, 20), "Control", "Grid Operator", "Vendor VPN used at 03:00",
     "Email", "TLP:AMBER"],
    ["Escalation", dt.time(9, 40), "Control", "Grid Operator; City Water Works",
     "Pumping stations report power fluctuations", "Phone", ""],
    ["Escalation", dt.time(10, 5), "Control", "City Water Works",
     "Reservoir levels dropping", "Phone", ""],
    ["Recovery", dt.time(10, 45), "Control", "All players", "Restoration plan review",
     "Email", "TLP:CLEAR"],
]  # fmt: skip

CP1252 = """Übung "Kaskade" – Drehbuch (MSEL);;;;;;;;
Inject #;Scheduled Time;Phase;Sender;Recipient;Channel;Inject Text;Expected Player Action;Severity
1;0:00;Phase 1 – Erkennung;Leitstelle;Stadtwerke Café-Süd;E-Mail;"Störung im Leitsystem
Die Fernwirktechnik meldet Ausfälle.";Lage bewerten;medium
2;0:15;Phase 1 – Erkennung;Bank Süd;Bank Süd;Telefon;Kartenzahlungen gestört (Schaden ~50.000 €);Notfallverfahren;high
3;0:40;Phase 2 – Eskalation;Presse;All players;Press;Zeitung fragt nach – TLP:CLEAR;Pressemitteilung abstimmen;
"""


def write_xlsx(name: str, rows: list[list[object]]) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MSEL"
    for row in rows:
        sheet.append(row)
    workbook.save(HERE / name)


def main() -> None:
    write_xlsx("hseep-title-rows.xlsx", HSEEP)
    write_xlsx("ctep-moves.xlsx", CTEP)
    write_xlsx("clock-time.xlsx", CLOCK)
    (HERE / "cp1252-semicolons.csv").write_bytes(CP1252.replace("\n", "\r\n").encode("cp1252"))


if __name__ == "__main__":
    main()
