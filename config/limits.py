"""Every limit on hostile input, in one place (docs/security.md, "Size limits" lists them).

A leaf module: models, forms, importers and settings import from here, so a limit is
changed once and holds everywhere. Sizes in bytes, lengths in characters.
"""

from __future__ import annotations

MIB = 1024 * 1024

# -- request bodies (config/asgi.py refuses a larger body with 413 before reading it) ------
# Room for a scenario file of MAX_IMPORT_BYTES plus the multipart form around it.
MAX_IMPORT_BYTES = 5 * MIB
MAX_REQUEST_BYTES = MAX_IMPORT_BYTES + 64 * 1024

# -- scenario files (YAML/JSON), scenarios/formats/parse.py -------------------------------
# No real scenario nests deeper than ~8 levels or holds this many keys and values.
MAX_DEPTH = 40
MAX_NODES = 50_000

# -- MSEL spreadsheets (CSV/XLSX), scenarios/formats/msel.py and spreadsheet.py ----------
# A real MSEL has tens to hundreds of rows and a dozen columns.
MSEL_MAX_ROWS = 5_000
MSEL_MAX_COLUMNS = 64
MSEL_MAX_CELLS = 100_000
XLSX_MAX_SHARED_STRINGS = 100_000
# What the zip may unpack to (declared sizes; reading stops there) and how many XML
# elements all its parts may hold: bounds styles, relationships and anything else parsed.
XLSX_MAX_UNPACKED_BYTES = 32 * MIB
XLSX_MAX_ELEMENTS = 500_000

# -- exercise backups (JSON), scoring/backup/ ---------------------------------------------
# A backup is read whole, like an upload. A played two-hour exercise with a hundred teams
# is a few MiB; records nest about 7 levels (a score's evidence items are the deepest).
BACKUP_MAX_BYTES = 64 * MIB
BACKUP_MAX_DEPTH = 16
BACKUP_MAX_NODES = 4_000_000

# -- rosters (CSV/XLSX of people to invite), onboarding/roster.py --------------------------
# Read like an MSEL (same column and cell bounds, same XLSX checks); fifty to a few hundred
# people is a real exercise.
ROSTER_MAX_ROWS = 1_000

# -- free text typed by people (model max_length, forms, imports, sockets) -----------------
# A share's title.
TEXT_TITLE = 200
# A question; a description of an organization, role, option or criterion.
TEXT_BRIEF = 2_000
# A decision's text and rationale, an observation note, an improvement-plan field.
TEXT_NOTE = 4_000
# A share's body: one copy in a frame (the other places show a preview), far below the cap.
TEXT_SHARE = 10_000
# Markdown of a scenario (summary, briefing, inject body, expected action, notes) and the
# hot wash notes.
TEXT_DOCUMENT = 20_000

# -- the exercise socket (exercises/consumers.py, exercises/fragments.py) -----------------
# A frame pushed to a browser. Daphne's own limit (1 MiB, autobahn's maxMessagePayloadSize)
# is on messages *from* browsers; pushes are capped by the app, far below what proxies and
# browsers take, so no frame can ever break a socket (see exercises.fragments).
SOCKET_PUSH_BYTES = 256 * 1024
# A message from a browser (a hello or a ping is ~40 bytes; htmx adds its headers), and
# how deeply its JSON may nest (htmx's HEADERS object is level 2).
SOCKET_MESSAGE_BYTES = 16 * 1024
SOCKET_MESSAGE_DEPTH = 8

# -- rates (exercises/engine/rate_limits.py): a burst, then one more every N seconds ------
# Per team for shares, relays and decisions (its players share one allowance), per
# person for observations, discussion messages and RFIs. A real team shares a few times
# per stage and revises a decision a few times; 100 shares in 8 s (issue 13) were a
# flood pushed to every team.
SHARE_BURST, SHARE_EVERY_SECONDS = 6, 10.0
DECISION_BURST, DECISION_EVERY_SECONDS = 12, 2.0
OBSERVATION_BURST, OBSERVATION_EVERY_SECONDS = 30, 1.0
# -- collaboration (exercises/engine/discussion.py, rfis.py, collaboration.py) ------------
# A discussion message, an RFI's question or answer: a chat line, not a document.
TEXT_MESSAGE = 2_000
# Rates per person (exercises/engine/rate_limits.py, below): enough for a heated
# exchange, too few to flood a team's thread or another team's inbox.
MESSAGE_BURST, MESSAGE_EVERY_SECONDS = 20, 3.0
RFI_BURST, RFI_EVERY_SECONDS = 10, 6.0
