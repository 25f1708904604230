"""The bundled sample data (`--demo`): a small CRM with every field type.

Deterministic: every build gives the same ids, values, timestamps and
sequences. Teams and databases (the ids the vendor's sample requests use,
so each sample answers with host and key swapped):

- `mnPLY6DMsvq9wz4id` "Demo Team": `gt5k36w957yt` "CRM" (30 contacts),
  `pt53j1tburs8` "Projects";
- `Cf8fqfNeCaAvBrjkS` "Public Cloud Test Team_1": `zvdufqsrxwr2` "Contacts" (26);
- `u14mwnoutm14yrcnf` "Private Cloud Team": `pnum1qq8tpao` "Contacts" (12),
  `w41fzot5t5wt` "Customers" (14);
- `XFND77BerC5NNoxK4` "Upsert Team": `vibpwezinpsx` "Contacts" (12),
  `a2jufgz7xu1w` "Changes" (3);
- `c1w72a5wl28zzmpn9` "Private Upsert Team": `m8u2w3ulmgt3` "Contacts" (12),
  `k6lj89vm8vsl` "Changes" (3), `qjheo7dnp4fk` "Changes 2" (5).

Every database but Projects has the CRM's tables:
- A **Contact**: A Kind (choice: 1 Person, 2 Company), B Title (choice: Mr,
  Ms, Dr), C Job title, D Birthday (date), E First name, F Tags (multi: VIP,
  Newsletter, Partner, "Smith, Jones & Co"), G Last name, H Email (email),
  I Phone (phone), J Organization (text), K Department, L Nickname, M Company
  (ref → B), N Active (boolean), O Notes (text), P Last contact (datetime),
  Q Score (number), R Photo (image), S Website (url), T Owner (user),
  U Full name (formula `'First name' + " " + 'Last name'`), V Deals (rev ← C.B),
  W Address (location), X Colour (color), Y Call time (time), Z Imported
  (timestamp), AA Bio (html), AB Next meeting (appointment), AC Time spent
  (timeinterval), AD Icon (icon), AE Profile (link), AF Contract (file);
- B **Company**: A Name (required), B Industry (choice), C Employees (number),
  D Founded (date), E Website (url), F Contacts (rev ← A.M), G Deals
  (rev ← C.C), H Logo (image), I Customer (boolean), J Address (location);
- C **Deal**: A Title, B Contact (ref → A), C Company (ref → B), D Amount,
  E Stage (choice: Lead, Qualified, Proposal, Won, Lost), F Close date (date),
  G Closed at (datetime), H Products (multi), I Notes (text), J Label
  (formula `'Title' + " (" + 'Stage' + ")"`);
- D **Lead**: A Source (choice), E First name, G Last name, H Email, L Nickname.

Contacts 1, 2 and 4 have no known creator (`createdAt: ""`, `createdBy: 0`);
the first eight first names of the CRM are the vendor's query sample's
("Tim", "Chalie", ... "Alfred " with its trailing space, "Nadin"); contact 5
is the vendor's "Sophie Baxter"; contacts 13 and 14 have the nicknames
"Stanley" and "Jane" (the lookup samples filter `L`); vibpwezinpsx's contact
1 is the change-feed sample's "George Hunter". In the CRM, contacts 31 and 32
were created and deleted (the change feed has removes) and a few records were
updated later. Attachments: CRM contact 5 (`mobile-phone.jpeg`,
`iStock-184877012.jpeg`) and company 1 (`logo.png`); zvdufqsrxwr2 contacts 10
(`iStock-184877012.jpeg`) and 25 (`ninox_logo.png`,
`shutterstock_562246966_resized.jpeg`); pnum1qq8tpao company 5
(`iStock-184877012.jpeg`, `123.jpeg`, `123jpeg`, `mobile-phone.jpeg`);
Projects project 1 (`plan.pdf`).

**Projects** (`pt53j1tburs8`): A Project (A Name, B Status (choice), C Start
(date), D Budget (number), E Lead (ref → B), F Tags (multi), G Signature (type
`signature`, unknown to clients), H Tasks (rev ← C.B)), B Contact (A First
name, B Last name, C Email, D Projects (rev ← A.E)), C Task (A Title,
B Project (ref → A), C Done (boolean), D Due (datetime), E Estimate
(timeinterval)).
"""

from __future__ import annotations

import functools
import pickle
from typing import Any

from ninox_emulator.model import Database
from ninox_emulator.store import Store

USERS = ["anm2jMxL7kRuatXW9", "EPZ2zSxuC7jt6WF2D", "whQnZogNQm2XaWWgL"]
#: 2023-09-18T15:28:50Z: demo records were made from here on, an hour apart.
BASE_MS = 1_695_050_930_000
HOUR_MS = 3_600_000


def _choices(*captions: str) -> list[dict[str, Any]]:
    return [{"id": str(i), "caption": c, "captions": {}} for i, c in enumerate(captions, 1)]


def _f(fid: str, name: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "name": name, "type": kind, **extra}


CRM_TABLES: list[dict[str, Any]] = [
    {
        "id": "A",
        "name": "Contact",
        "fields": [
            _f("A", "Kind", "choice", choices=_choices("Person", "Company")),
            _f("B", "Title", "choice", choices=_choices("Mr", "Ms", "Dr")),
            _f("C", "Job title", "string"),
            _f("D", "Birthday", "date"),
            _f("E", "First name", "string"),
            _f(
                "F",
                "Tags",
                "multi",
                choices=_choices("VIP", "Newsletter", "Partner", "Smith, Jones & Co"),
            ),
            _f("G", "Last name", "string", required=True),
            _f("H", "Email", "email"),
            _f("I", "Phone", "phone"),
            _f("J", "Organization", "text"),
            _f("K", "Department", "string"),
            _f("L", "Nickname", "string"),
            _f("M", "Company", "ref", refTypeId="B"),
            _f("N", "Active", "boolean"),
            _f("O", "Notes", "text"),
            _f("P", "Last contact", "datetime"),
            _f("Q", "Score", "number"),
            _f("R", "Photo", "image"),
            _f("S", "Website", "url"),
            _f("T", "Owner", "user"),
            _f("U", "Full name", "formula", fn="'First name' + \" \" + 'Last name'"),
            _f("V", "Deals", "rev", refTypeId="C", refFieldId="B"),
            _f("W", "Address", "location"),
            _f("X", "Colour", "color"),
            _f("Y", "Call time", "time"),
            _f("Z", "Imported", "timestamp"),
            _f("AA", "Bio", "html"),
            _f("AB", "Next meeting", "appointment"),
            _f("AC", "Time spent", "timeinterval"),
            _f("AD", "Icon", "icon"),
            _f("AE", "Profile", "link"),
            _f("AF", "Contract", "file"),
        ],
    },
    {
        "id": "B",
        "name": "Company",
        "fields": [
            _f("A", "Name", "string", required=True),
            _f(
                "B",
                "Industry",
                "choice",
                choices=_choices("Software", "Retail", "Logistics", "Finance"),
            ),
            _f("C", "Employees", "number"),
            _f("D", "Founded", "date"),
            _f("E", "Website", "url"),
            _f("F", "Contacts", "rev", refTypeId="A", refFieldId="M"),
            _f("G", "Deals", "rev", refTypeId="C", refFieldId="C"),
            _f("H", "Logo", "image"),
            _f("I", "Customer", "boolean"),
            _f("J", "Address", "location"),
        ],
    },
    {
        "id": "C",
        "name": "Deal",
        "fields": [
            _f("A", "Title", "string"),
            _f("B", "Contact", "ref", refTypeId="A"),
            _f("C", "Company", "ref", refTypeId="B"),
            _f("D", "Amount", "number"),
            _f(
                "E",
                "Stage",
                "choice",
                choices=_choices("Lead", "Qualified", "Proposal", "Won", "Lost"),
            ),
            _f("F", "Close date", "date"),
            _f("G", "Closed at", "datetime"),
            _f("H", "Products", "multi", choices=_choices("Basic", "Pro", "Enterprise", "Support")),
            _f("I", "Notes", "text"),
            _f("J", "Label", "formula", fn="'Title' + \" (\" + 'Stage' + \")\""),
        ],
    },
    {
        "id": "D",
        "name": "Lead",
        "fields": [
            _f("A", "Source", "choice", choices=_choices("Web", "Fair", "Referral")),
            _f("E", "First name", "string"),
            _f("G", "Last name", "string"),
            _f("H", "Email", "email"),
            _f("L", "Nickname", "string"),
        ],
    },
]

PROJECT_TABLES: list[dict[str, Any]] = [
    {
        "id": "A",
        "name": "Project",
        "fields": [
            _f("A", "Name", "string"),
            _f("B", "Status", "choice", choices=_choices("Planned", "Active", "Done")),
            _f("C", "Start", "date"),
            _f("D", "Budget", "number"),
            _f("E", "Lead", "ref", refTypeId="B"),
            _f("F", "Tags", "multi", choices=_choices("Internal", "Customer", "R&D")),
            _f("G", "Signature", "signature"),
            _f("H", "Tasks", "rev", refTypeId="C", refFieldId="B"),
        ],
    },
    {
        "id": "B",
        "name": "Contact",
        "fields": [
            _f("A", "First name", "string"),
            _f("B", "Last name", "string"),
            _f("C", "Email", "email"),
            _f("D", "Projects", "rev", refTypeId="A", refFieldId="E"),
        ],
    },
    {
        "id": "C",
        "name": "Task",
        "fields": [
            _f("A", "Title", "string"),
            _f("B", "Project", "ref", refTypeId="A"),
            _f("C", "Done", "boolean"),
            _f("D", "Due", "datetime"),
            _f("E", "Estimate", "timeinterval"),
        ],
    },
]

# First name, last name, organization, department, job title.
PEOPLE = [
    ("Tim", "Becker", "Apricote AG", "Sales", "Account manager"),
    ("Chalie", "Hunter", "Hub City, Ltd.", "Support", "Engineer"),
    ("John", "Copeland", "Nordlicht GmbH", "IT", "Administrator"),
    ("Caroline", "Schultz", "Café Ümlaut", "Marketing", "Designer"),
    ("Sophie", "Baxter", "Hub City, Ltd.", "Import", "Head of Logistics"),
    ("Hans", "Müller", "Nordlicht GmbH", "Finance", "Controller"),
    ("Alfred ", "Becker", "Acme Corp", "Board", "CEO"),
    ("Nadin", "Yilmaz", "東京 Trading 株式会社", "Sales", "Sales rep"),
    ("Zoë", "O'Neil", "Smith, Jones & Co", "Legal", "Counsel"),
    ("Jürgen", "Weiß", "Björk & Sons", "Production", "Foreman"),
    ("Łukasz", "Nowak", "Apricote AG", "IT", "Developer"),
    ("José", "García", "Acme Corp", "Sales", "Manager"),
    ("Stanley", "Potts", "Hub City, Ltd.", "Purchasing", "Buyer"),
    ("Jane", "Doe", "Café Ümlaut", "Kitchen", "Chef 🍳"),
    ("Mia", "Schmidt", "Nordlicht GmbH", "HR", "Recruiter"),
    ("Ali", "Khan", "東京 Trading 株式会社", "Export", "Agent"),
    ("Yūki", "Tanaka", "東京 Trading 株式会社", "Board", "Director"),
    ("Chloé", "Martin", "Smith, Jones & Co", "Legal", "Paralegal"),
    ("Björn", "Larsson", "Björk & Sons", "Sales", "Sales rep"),
    ("Aoife", "Murphy", "Apricote AG", "Marketing", "Writer"),
    ("Omar", "Haddad", "Acme Corp", "IT", "Architect"),
    ("Ingrid", "Berg", "Nordlicht GmbH", "Finance", "Accountant"),
    ("Pierre", "Dubois", "Café Ümlaut", "Service", "Waiter"),
    ("Anna", "Kowalska", "Hub City, Ltd.", "Import", "Clerk"),
    ("Lars", "Jensen", "Björk & Sons", "Production", "Welder"),
    ("Elif", "Demir", "Apricote AG", "Support", "Agent"),
    ("Noah", "Fischer", "Acme Corp", "Sales", "Trainee"),
    ("Lena", "Wagner", "Smith, Jones & Co", "Legal", "Partner"),
    ("Mateo", "Rossi", "東京 Trading 株式会社", "Logistics", "Driver"),
    ("Sara", "Lindqvist", "Nordlicht GmbH", "IT", "Tester"),
    ("Temp", "Record", "Acme Corp", "None", "Deleted later"),
    ("Temp", "Record 2", "Acme Corp", "None", "Deleted later"),
]
GEORGE = ("George", "Hunter", "Apricote AG", "Marketing", "Marketing manager")
COMPANIES = [
    ("Apricote AG", "Software"),
    ("Hub City, Ltd.", "Logistics"),
    ("Nordlicht GmbH", "Finance"),
    ("Café Ümlaut", "Retail"),
    ("Acme Corp", "Retail"),
    ("東京 Trading 株式会社", "Logistics"),
    ("Smith, Jones & Co", "Finance"),
    ("Björk & Sons", "Software"),
]
STAGES = ["Lead", "Qualified", "Proposal", "Won", "Lost"]

# (team id, team name, [(database id, name, kind, contacts)])
LAYOUT: list[tuple[str, str, list[tuple[str, str, str, int]]]] = [
    (
        "mnPLY6DMsvq9wz4id",
        "Demo Team",
        [("gt5k36w957yt", "CRM", "crm", 30), ("pt53j1tburs8", "Projects", "projects", 0)],
    ),
    ("Cf8fqfNeCaAvBrjkS", "Public Cloud Test Team_1", [("zvdufqsrxwr2", "Contacts", "crm", 26)]),
    (
        "u14mwnoutm14yrcnf",
        "Private Cloud Team",
        [("pnum1qq8tpao", "Contacts", "crm", 12), ("w41fzot5t5wt", "Customers", "crm", 14)],
    ),
    (
        "XFND77BerC5NNoxK4",
        "Upsert Team",
        [("vibpwezinpsx", "Contacts", "crm", 12), ("a2jufgz7xu1w", "Changes", "crm", 3)],
    ),
    (
        "c1w72a5wl28zzmpn9",
        "Private Upsert Team",
        [
            ("m8u2w3ulmgt3", "Contacts", "crm", 12),
            ("k6lj89vm8vsl", "Changes", "crm", 3),
            ("qjheo7dnp4fk", "Changes 2", "crm", 5),
        ],
    ),
]

#: (database id, table id, record id) → attachments.
FILES = {
    ("gt5k36w957yt", "A", 5): ["mobile-phone.jpeg", "iStock-184877012.jpeg"],
    ("gt5k36w957yt", "B", 1): ["logo.png"],
    ("pt53j1tburs8", "A", 1): ["plan.pdf"],
    ("zvdufqsrxwr2", "A", 10): ["iStock-184877012.jpeg"],
    ("zvdufqsrxwr2", "A", 25): ["ninox_logo.png", "shutterstock_562246966_resized.jpeg"],
    ("pnum1qq8tpao", "B", 5): ["iStock-184877012.jpeg", "123.jpeg", "123jpeg", "mobile-phone.jpeg"],
}


def build_demo(store: Store | None = None) -> Store:
    """Fill `store` (or a new one) with the demo data; returns it.

    The demo is built once per process and copied from then on: every test
    starts from it (an emulator reset), and a copy costs a third of a build.
    """
    store = store if store is not None else Store()
    with store.lock:
        # Bytes this process pickled itself (`_built_demo`), never input.
        for team_id, team in pickle.loads(_built_demo()).items():  # noqa: S301
            known = store.teams.get(team_id)
            if known is None:
                store.teams[team_id] = team
            else:  # as `create_team` + `create_database` would: users and databases replaced
                known.users = team.users
                known.databases.update(team.databases)
    return store


@functools.cache
def _built_demo() -> bytes:
    """The demo's teams, built once, pickled (a copy shares nothing with another)."""
    return pickle.dumps(_build(Store()).teams, protocol=pickle.HIGHEST_PROTOCOL)


def _build(store: Store) -> Store:
    """Build the demo data into `store` record by record (`build_demo` copies it)."""
    for team_id, team_name, databases in LAYOUT:
        store.create_team(team_id, team_name, USERS)
        for db_id, db_name, kind, contacts in databases:
            if kind == "projects":
                _projects(store, team_id, db_id, db_name)
            else:
                _crm(store, team_id, db_id, db_name, contacts)
            db = store.database(team_id, db_id)
            _attach(store, team_id, db)
            _age(db)
    return store


def _contact(i: int, person: tuple[str, str, str, str, str], companies: int) -> dict[str, Any]:
    first, last, org, dept, job = person
    fields: dict[str, Any] = {
        "Kind": "Company" if i % 7 == 6 else "Person",
        "Title": ["Mr", "Ms", "Dr"][i % 3],
        "First name": first,
        "Last name": last,
        "Organization": org,
        "Department": dept,
        "Job title": job,
        "Email": f"{first.strip().lower()}.{last.lower().replace(' ', '')}@example.com",
        "Company": 1 + i % companies,
        "Active": i % 4 != 3,
        "Owner": USERS[i % len(USERS)],
    }
    if person is GEORGE:
        fields["Birthday"] = "1980-01-01"
    elif first == "Sophie":
        fields["Birthday"] = "1980-05-10"
    if first in ("Stanley", "Jane"):
        fields["Nickname"] = first
    if i % 5 == 0:
        fields["Tags"] = ["VIP", "Smith, Jones & Co"]
    elif i % 3 == 1:
        fields["Tags"] = "Newsletter, Partner"  # the comma-separated form
    if i % 2 == 0:
        fields.update(
            {
                "Birthday": fields.get(
                    "Birthday", f"{1960 + i}-{1 + i % 12:02d}-{1 + (i * 7) % 28:02d}"
                ),
                "Phone": f"+49 30 {1000 + i}",
                "Notes": f"Met at fair #{i}.\nLikes ünïcode ✓ and emoji 🚀",
                "Last contact": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{8 + i % 10:02d}:30:00",
                "Score": round(i * 13.5 - 40, 2),
                "Photo": f"portrait-{i + 1}.jpg",
                "Website": f"https://example.com/people/{i + 1}",
                "Address": f"Hauptstraße {i + 1}, Berlin <52.52,13.{400 + i}>",
                "Colour": "#6691FF",
                "Call time": f"{8 + i % 10:02d}:15:00",
                "Imported": "2023-01-01T00:00:00",
                "Bio": f"<p>Contact <b>{first.strip()}</b></p>",
                "Next meeting": "2024-03-01T09:00:00 - 2024-03-01T10:00:00",
                "Time spent": f"{i * 3}:25:16.123",
                "Icon": "star",
                "Profile": f"https://social.example.com/{i + 1}",
                "Contract": f"contract-{i + 1}.pdf",
            }
        )
    elif i % 3 == 0:
        fields["Score"] = i * 10
    return {"fields": fields}


def _crm(store: Store, team_id: str, db_id: str, name: str, contacts: int) -> None:
    store.create_database(team_id, db_id, name, CRM_TABLES)
    companies = min(len(COMPANIES), max(5, contacts // 3))
    store.save_records(
        team_id,
        db_id,
        "B",
        [
            {
                "fields": {
                    "Name": company,
                    "Industry": industry,
                    "Employees": 10 + 37 * i,
                    "Founded": f"{1950 + 7 * i}-0{1 + i % 9}-15",
                    "Website": f"https://company{i + 1}.example.com",
                    "Customer": i % 2 == 0,
                    "Address": f"Road {i + 1}, Hamburg <53.55,9.99>",
                    **({"Logo": "logo.png"} if i == 0 else {}),
                }
            }
            for i, (company, industry) in enumerate(COMPANIES[:companies])
        ],
        user=USERS[0],
    )
    people = list(PEOPLE[:contacts])
    if db_id == "vibpwezinpsx":
        people[0] = GEORGE
    store.save_records(
        team_id,
        db_id,
        "A",
        [_contact(i, p, companies) for i, p in enumerate(people)],
        user=USERS[1],
    )
    deals = max(3, contacts // 2)
    store.save_records(
        team_id,
        db_id,
        "C",
        [
            {
                "fields": {
                    "Title": f"Deal {i + 1}",
                    "Contact": 1 + (i * 3) % contacts,
                    "Company": 1 + i % companies,
                    "Amount": 1000 + i * 250.5,
                    "Stage": STAGES[i % len(STAGES)],
                    "Close date": f"2024-{1 + i % 12:02d}-28",
                    **({"Closed at": f"2024-{1 + i % 12:02d}-28T17:00:00"} if i % 5 == 3 else {}),
                    "Products": ["Basic", "Support"] if i % 2 else ["Pro"],
                    **({"Notes": "Rabatt - 10 % 🤝"} if i % 4 == 0 else {}),
                }
            }
            for i in range(deals)
        ],
        user=USERS[0],
    )
    store.save_records(
        team_id,
        db_id,
        "D",
        [
            {
                "fields": {
                    "Source": ["Web", "Fair", "Referral"][i % 3],
                    "First name": PEOPLE[i + 12][0],
                    "Last name": PEOPLE[i + 12][1],
                    "Email": f"lead{i + 1}@example.com",
                    **({"Nickname": PEOPLE[i + 12][0]} if i < 2 else {}),
                }
            }
            for i in range(8)
        ],
        user=USERS[2],
    )
    if db_id == "gt5k36w957yt":
        # Later history: two contacts created then deleted, a few updates.
        store.save_records(
            team_id,
            db_id,
            "A",
            [_contact(i, PEOPLE[i], companies) for i in (30, 31)],
            user=USERS[1],
        )
        store.delete_records(team_id, db_id, "A", [31, 32], user=USERS[1])
        store.save_records(
            team_id,
            db_id,
            "A",
            [
                {"id": 3, "fields": {"Notes": "Updated later"}},
                {"id": 7, "fields": {"Active": True}},
            ],
            user=USERS[0],
        )
        store.save_records(
            team_id, db_id, "C", [{"id": 2, "fields": {"Stage": "Won"}}], user=USERS[0]
        )


def _projects(store: Store, team_id: str, db_id: str, name: str) -> None:
    store.create_database(team_id, db_id, name, PROJECT_TABLES)
    store.save_records(
        team_id,
        db_id,
        "B",
        [
            {
                "fields": {
                    "First name": first,
                    "Last name": last,
                    "Email": f"{first.strip().lower()}@example.com",
                }
            }
            for first, last, *_ in PEOPLE[:8]
        ],
        user=USERS[0],
    )
    store.save_records(
        team_id,
        db_id,
        "A",
        [
            {
                "fields": {
                    "Name": title,
                    "Status": ["Planned", "Active", "Done"][i % 3],
                    "Start": f"2024-0{1 + i}-01",
                    "Budget": 5000 * (i + 1),
                    "Lead": 1 + i,
                    "Tags": ["Internal"] if i % 2 else ["Customer", "R&D"],
                    "Signature": f"sig:{i + 1:04d}",
                }
            }
            for i, title in enumerate(
                [
                    "Website relaunch",
                    "ERP migration",
                    "Café Ümlaut app",
                    "Data warehouse",
                    "東京 office",
                    "Q4 audit",
                ]
            )
        ],
        user=USERS[0],
    )
    store.save_records(
        team_id,
        db_id,
        "C",
        [
            {
                "fields": {
                    "Title": f"Task {i + 1}",
                    "Project": 1 + i % 6,
                    "Done": i % 3 == 0,
                    "Due": f"2024-06-{1 + i:02d}T12:00:00",
                    "Estimate": f"{2 + i}:30:00",
                }
            }
            for i in range(12)
        ],
        user=USERS[1],
    )


def _attach(store: Store, team_id: str, db: Database) -> None:
    for (db_id, table_id, rid), names in FILES.items():
        if db_id != db.id:
            continue
        for name in names:
            kind = {"png": "image/png", "pdf": "application/pdf"}.get(
                name.rpartition(".")[2], "image/jpeg"
            )
            data = f"demo file {name} of {db_id}/{table_id}/{rid}\n".encode() * 8
            store.attach_file(team_id, db.id, table_id, rid, name, data, kind, user=USERS[0])


def _age(db: Database) -> None:
    """Give every record and file a fixed past timestamp in sequence order."""
    for table in db.tables.values():
        for rec in table.records.values():
            rec.modified_at = BASE_MS + rec.seq * HOUR_MS
            rec.created_at = BASE_MS + rec.id * 60_000  # before any change
            for entry in rec.files.values():
                entry.modified = BASE_MS + entry.seq * HOUR_MS
    contacts = db.tables.get("A")
    if contacts is not None and db.tables["A"].name == "Contact" and "M" in contacts.fields:
        for rid in (1, 2, 4):
            unknown = contacts.records.get(rid)
            if unknown is not None:
                unknown.created_at = None
                unknown.created_by = None
