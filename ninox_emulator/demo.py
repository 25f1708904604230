"""The bundled sample data: a small CRM with every field type.

Main team `mnPLY6DMsvq9wz4id` ("Demo Team"):
- `gt5k36w957yt` "CRM": A Contact, B Company, C Deal, D Lead;
- `pt53j1tburs8` "Archive": the same tables with fewer records (for
  multi-database runs).
The other teams and databases the vendor's sample requests use exist too, as
smaller copies, so every sample answers (host and key swapped):
`Cf8fqfNeCaAvBrjkS`/`zvdufqsrxwr2`, `u14mwnoutm14yrcnf`/`w41fzot5t5wt`,
`pnum1qq8tpao`, `XFND77BerC5NNoxK4`/`vibpwezinpsx`, `a2jufgz7xu1w`,
`c1w72a5wl28zzmpn9`/`m8u2w3ulmgt3`, `k6lj89vm8vsl`, `qjheo7dnp4fk`.

Contact (A) has one field of every type Ninox documents, plus one of a type
no client knows (`hologram`), records 1-3 with no known creator
(`createdAt: ""`, `createdBy: 0`), and attachments on records 5, 10 and 25
(`iStock-184877012.jpeg`, `mobile-phone.jpeg`); Company record 5 has
`iStock-184877012.jpeg` and `123.jpeg`.
"""

from __future__ import annotations

import random
from typing import Any

from ninox_emulator.store import FileEntry, Store

USERS = ["EPZ2zSxuC7jt6WF2D", "anm2jMxL7kRuatXW9", "admin"]
BASE_MS = 1_695_050_930_000  # 2023-09-18, whole seconds


def _choices(*captions: str) -> list[dict[str, Any]]:
    return [{"id": str(i), "caption": c, "captions": {}} for i, c in enumerate(captions, 1)]


CRM_TABLES: list[dict[str, Any]] = [
    {
        "id": "A",
        "name": "Contact",
        "fields": [
            {"id": "A", "name": "Kind", "type": "choice", "choices": _choices("Person", "Company")},
            {"id": "B", "name": "Email", "type": "email"},
            {"id": "C", "name": "Phone", "type": "phone"},
            {"id": "D", "name": "Birthday", "type": "date"},
            {"id": "E", "name": "First name", "type": "text"},
            {"id": "F", "name": "Website", "type": "url"},
            {"id": "G", "name": "Last name", "type": "string", "required": True},
            {"id": "H", "name": "Company", "type": "ref", "refTypeId": "B"},
            {
                "id": "I",
                "name": "Tags",
                "type": "multi",
                "choices": _choices("VIP", "Newsletter", "Smith, Jones & Co"),
            },
            {"id": "J", "name": "Active", "type": "boolean"},
            {"id": "K", "name": "Score", "type": "number"},
            {"id": "L", "name": "Nickname", "type": "text"},
            {"id": "M", "name": "Last contact", "type": "datetime"},
            {"id": "N", "name": "Call time", "type": "time"},
            {"id": "O", "name": "Photo", "type": "image"},
            {"id": "P", "name": "Notes", "type": "html"},
            {"id": "Q", "name": "Owner", "type": "user"},
            {"id": "R", "name": "Address", "type": "location"},
            {"id": "S", "name": "Next meeting", "type": "appointment"},
            {"id": "T", "name": "Time spent", "type": "timeinterval"},
            {"id": "U", "name": "Imported", "type": "timestamp"},
            {"id": "V", "name": "Full name", "type": "formula", "args": ["E", "G"]},
            {"id": "W", "name": "Color", "type": "color"},
            {"id": "X", "name": "Icon", "type": "icon"},
            {"id": "Y", "name": "Deals", "type": "rev", "refTypeId": "C", "refFieldId": "C"},
            {"id": "Z", "name": "Contract", "type": "file"},
            {"id": "AA", "name": "Hologram", "type": "hologram"},
        ],
    },
    {
        "id": "B",
        "name": "Company",
        "fields": [
            {"id": "A", "name": "Name", "type": "text"},
            {
                "id": "B",
                "name": "Industry",
                "type": "choice",
                "choices": _choices("Software", "Retail", "Logistics"),
            },
            {"id": "C", "name": "Employees", "type": "number"},
            {"id": "D", "name": "Contacts", "type": "rev", "refTypeId": "A", "refFieldId": "H"},
            {"id": "E", "name": "Founded", "type": "date"},
        ],
    },
    {
        "id": "C",
        "name": "Deal",
        "fields": [
            {"id": "A", "name": "Title", "type": "text"},
            {"id": "B", "name": "Amount", "type": "number"},
            {"id": "C", "name": "Contact", "type": "ref", "refTypeId": "A"},
            {"id": "D", "name": "Company", "type": "ref", "refTypeId": "B"},
            {
                "id": "E",
                "name": "Stage",
                "type": "choice",
                "choices": _choices("Lead", "Offer", "Won", "Lost"),
            },
            {"id": "F", "name": "Close date", "type": "date"},
            {"id": "G", "name": "Won", "type": "boolean"},
        ],
    },
    {
        "id": "D",
        "name": "Lead",
        "fields": [
            {"id": "A", "name": "First name", "type": "text"},
            {"id": "B", "name": "Last name", "type": "text"},
            {"id": "C", "name": "Email", "type": "email"},
            {
                "id": "D",
                "name": "Source",
                "type": "choice",
                "choices": _choices("Web", "Fair", "Referral"),
            },
            {"id": "L", "name": "Nickname", "type": "text"},
        ],
    },
]

FIRST = ["Stanley", "Jane", "Sophie", "Hans", "Alfred", "Caroline", "Tim", "Zoë", "Jürgen", "Nadin"]
LAST = ["Potts", "Baxter", "Copeland", "Becker", "Schultz", "Hunter", "Müller", "O'Neil"]
COMPANIES = ["Apricote AG", "Hub City, Ltd.", "Nordlicht GmbH", "Café Ümlaut", "Acme"]

SAMPLE_DATABASES = {
    "mnPLY6DMsvq9wz4id": (
        "Demo Team",
        [("gt5k36w957yt", "CRM", 30), ("pt53j1tburs8", "Archive", 8)],
    ),
    "Cf8fqfNeCaAvBrjkS": ("Public Cloud Test Team_1", [("zvdufqsrxwr2", "Contacts", 30)]),
    "u14mwnoutm14yrcnf": (
        "Private Cloud Team",
        [("w41fzot5t5wt", "Contacts", 26), ("pnum1qq8tpao", "Contacts 2", 26)],
    ),
    "XFND77BerC5NNoxK4": (
        "Upsert Team",
        [("vibpwezinpsx", "Contacts", 26), ("a2jufgz7xu1w", "Changes", 5)],
    ),
    "c1w72a5wl28zzmpn9": (
        "Private Upsert Team",
        [
            ("m8u2w3ulmgt3", "Contacts", 26),
            ("k6lj89vm8vsl", "Changes", 5),
            ("qjheo7dnp4fk", "Changes 2", 26),
        ],
    ),
}


def build_demo() -> Store:
    """A fresh store holding the demo data (deterministic)."""
    store = Store()
    store.users = list(USERS)
    for team_id, (team_name, databases) in SAMPLE_DATABASES.items():
        store.create_team(team_id, team_name)
        for db_id, db_name, contacts in databases:
            store.create_database(team_id, db_id, db_name, CRM_TABLES)
            _fill(store, team_id, db_id, contacts, random.Random(db_id))
    return store


def _fill(store: Store, team_id: str, db_id: str, contacts: int, rng: random.Random) -> None:
    db = store.database(team_id, db_id)
    companies = [
        {
            "fields": {
                "Name": name,
                "Industry": rng.choice(["Software", "Retail", "Logistics"]),
                "Employees": rng.randint(3, 5000),
                "Founded": f"{rng.randint(1950, 2020)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            }
        }
        for name in COMPANIES
    ]
    store.save_records(team_id, db_id, "B", companies, user=USERS[0])

    people = []
    for i in range(contacts):
        first, last = FIRST[i % len(FIRST)], LAST[i % len(LAST)]
        fields: dict[str, Any] = {
            "Kind": "Person" if i % 4 else "Company",
            "First name": first,
            "Last name": last,
            "Email": f"{first.lower()}.{i}@example.com",
            "Company": 1 + i % len(COMPANIES),
            "Active": i % 3 != 0,
            "Score": round(rng.uniform(-50, 1000), 2),
            "Last contact": f"2024-0{1 + i % 9}-1{i % 10}T{10 + i % 12:02d}:30:00",
            "Tags": ["VIP", "Smith, Jones & Co"] if i % 5 == 0 else ["Newsletter"],
            "Owner": USERS[i % 2],
        }
        if i % 2 == 0:
            fields.update(
                {
                    "Birthday": f"19{60 + i:02d}-0{1 + i % 9}-2{i % 10}",
                    "Phone": f"+49 30 {1000 + i}",
                    "Website": f"https://example.com/{i}",
                    "Call time": f"{8 + i % 10:02d}:15:00",
                    "Notes": f"<p>Met at fair #{i} - ünïcode ✓</p>",
                    "Address": f"Street {i}, Berlin <52.52,13.40{i}>",
                    "Next meeting": "2024-03-01T09:00:00 - 2024-03-01T10:00:00",
                    "Time spent": f"{i}:25:16.123",
                    "Imported": "2023-01-01T00:00:00",
                    "Color": "#6691FF",
                    "Icon": "star",
                    "Contract": f"contract-{i}.pdf",
                    "Photo": "portrait.jpg",
                    "Hologram": f"beam-{i}",
                }
            )
        if i in (0, 1):
            fields["Nickname"] = ["Stanley", "Jane"][i]
        people.append({"fields": fields})
    store.save_records(team_id, db_id, "A", people, user=USERS[1])

    deals = [
        {
            "fields": {
                "Title": f"Deal {i}",
                "Amount": rng.randint(100, 90000) / 4,
                "Contact": 1 + i % contacts,
                "Company": 1 + i % len(COMPANIES),
                "Stage": ["Lead", "Offer", "Won", "Lost"][i % 4],
                "Close date": f"2024-1{i % 3}-0{1 + i % 9}",
                "Won": i % 4 == 2,
            }
        }
        for i in range(max(3, contacts // 2))
    ]
    store.save_records(team_id, db_id, "C", deals, user=USERS[0])
    leads = [
        {
            "fields": {
                "First name": FIRST[i],
                "Last name": LAST[i],
                "Source": "Web",
                "Nickname": ["Jane", "Stanley"][i % 2],
            }
        }
        for i in range(6)
    ]
    store.save_records(team_id, db_id, "D", leads, user=USERS[0])

    # Records created before Ninox kept creators.
    contact_table = db.tables["A"]
    for rid in (1, 2, 3):
        rec = contact_table.records.get(rid)
        if rec is not None:
            rec.created_at = None
            rec.created_by = 0
    for offset, rec in enumerate(contact_table.records.values()):
        rec.modified_at = BASE_MS + offset * 60_000
    for table_id, rid, names in (
        ("A", 5, ("iStock-184877012.jpeg", "mobile-phone.jpeg")),
        ("A", 10, ("iStock-184877012.jpeg",)),
        ("A", 25, ("ninox_logo.png", "shutterstock_562246966_resized.jpeg")),
        ("B", 5, ("iStock-184877012.jpeg", "123.jpeg")),
    ):
        rec = db.tables[table_id].records.get(rid)
        if rec is None:
            continue
        for name in names:
            seq = store.touch(db, rec, USERS[1])
            kind = "image/png" if name.endswith(".png") else "image/jpeg"
            data = f"demo file {name} of {table_id}{rid}".encode()
            rec.files[name] = FileEntry(name, kind, data, BASE_MS + seq * 1000, USERS[1], seq)
