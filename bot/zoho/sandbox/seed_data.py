"""Word lists and fixed catalogues the seed generator draws from."""

from __future__ import annotations

REPS = [("Maria", "Lopez"), ("James", "Chen"), ("Priya", "Nair"), ("Tom", "Becker"), ("Aisha", "Okafor")]

STAGES = [
    "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers", "Perception Analysis",
    "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Closed Lost to Competition",
]
STAGE_WEIGHTS = [10, 9, 8, 7, 6, 8, 8, 22, 12, 10]
PROBABILITY = dict(zip(STAGES, [10, 20, 40, 60, 70, 75, 90, 100, 0, 0], strict=True))
CLOSED = {"Closed Won", "Closed Lost", "Closed Lost to Competition"}

PRODUCTS = [
    ("Fleet Tracker Pro", "FT-PRO", 1200.0, "Hardware"),
    ("Fleet Tracker Lite", "FT-LITE", 450.0, "Hardware"),
    ("Route Optimizer License", "RO-LIC", 3000.0, "Software"),
    ("Telematics Gateway", "TG-100", 850.0, "Hardware"),
    ("Driver Safety Module", "DS-MOD", 600.0, "Software"),
    ("Cold Chain Sensor Pack", "CC-SNS", 1500.0, "Hardware"),
    ("Implementation Services", "SVC-IMP", 5000.0, "Services"),
    ("Premium Support (annual)", "SUP-PRM", 2400.0, "Services"),
    ("Training Workshop", "SVC-TRN", 1800.0, "Services"),
    ("API Access Add-on", "API-ADD", 900.0, "Software"),
]

FIRST = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Tyrell", "Cyberdyne", "Aperture",
    "Monarch", "Prestige", "Blue Sky", "Silver Lake", "Redwood", "Evergreen", "Summit", "Maple", "Cedar", "Atlas",
    "Beacon", "Falcon", "Granite", "Horizon", "Ironwood", "Juniper", "Keystone", "Lakeside", "Meridian", "Nimbus",
    "Orion", "Pioneer", "Quantum", "Riverbend", "Sterling", "Trident", "Unity", "Vertex", "Willow", "Zenith",
    "Apex", "Bright", "Coastal", "Delta", "Eastgate", "Frontier", "Golden", "Highland", "Inland", "Jade",
    "Kestrel", "Lumen", "Mosaic", "Northstar", "Oakridge", "Paragon", "Quarry", "Solstice", "Tidewater", "Vista",
]
SECOND = [
    "Logistics", "Foods", "Analytics", "Dynamics", "Health", "Manufacturing", "Energy", "Freight", "Software",
    "Retail", "Pharma", "Media", "Robotics", "Textiles", "Builders", "Capital", "Consulting", "Labs", "Systems",
    "Networks", "Motors", "Supply", "Marine", "Aerospace", "Hospitality", "Farms", "Biotech", "Telecom",
    "Studios", "Distribution",
]
QUALIFIERS = ["North", "South", "Pacific", "Atlantic", "International", "Holdings", "Worldwide", "Partners"]
INDUSTRY = {
    "Logistics": "Transportation", "Freight": "Transportation", "Distribution": "Transportation",
    "Marine": "Transportation", "Motors": "Automotive", "Aerospace": "Aerospace", "Foods": "Food & Beverage",
    "Farms": "Agriculture", "Health": "Healthcare", "Pharma": "Healthcare", "Biotech": "Healthcare",
    "Energy": "Energy", "Software": "Technology", "Analytics": "Technology", "Systems": "Technology",
    "Networks": "Technology", "Telecom": "Telecommunications", "Labs": "Technology", "Robotics": "Manufacturing",
    "Manufacturing": "Manufacturing", "Textiles": "Manufacturing", "Builders": "Construction",
    "Retail": "Retail", "Supply": "Wholesale", "Media": "Media", "Studios": "Media", "Capital": "Finance",
    "Consulting": "Consulting", "Hospitality": "Hospitality", "Dynamics": "Engineering",
}
ACCOUNT_TYPES = ["Customer", "Customer", "Customer", "Prospect", "Partner", "Reseller"]

# currency -> (suffixes, [(city, state, postal code, country)])
REGIONS = {
    "USD": (
        ["Inc.", "LLC", "Corp.", "Co."],
        [
            ("Austin", "TX", "78701", "United States"), ("Denver", "CO", "80202", "United States"),
            ("Chicago", "IL", "60601", "United States"), ("Seattle", "WA", "98101", "United States"),
            ("Atlanta", "GA", "30303", "United States"), ("Boston", "MA", "02110", "United States"),
            ("Phoenix", "AZ", "85004", "United States"), ("Columbus", "OH", "43215", "United States"),
        ],
    ),
    "EUR": (
        ["GmbH", "B.V.", "S.A.", "AG"],
        [
            ("Berlin", "Berlin", "10115", "Germany"), ("Munich", "Bavaria", "80331", "Germany"),
            ("Amsterdam", "North Holland", "1012", "Netherlands"), ("Lyon", "Auvergne-Rhone-Alpes", "69001", "France"),
            ("Madrid", "Madrid", "28013", "Spain"),
        ],
    ),
    "GBP": (
        ["Ltd", "PLC"],
        [
            ("London", "England", "EC1A 1BB", "United Kingdom"), ("Manchester", "England", "M1 1AE", "United Kingdom"),
            ("Edinburgh", "Scotland", "EH1 1YZ", "United Kingdom"), ("Bristol", "England", "BS1 4DJ", "United Kingdom"),
        ],
    ),
}
STREETS = ["Market St", "Harbor Blvd", "Main St", "Industrial Way", "Commerce Dr", "Station Rd", "Park Ave",
           "Riverside Dr", "High St", "Innovation Pkwy"]

FIRST_NAMES = [
    "Dana", "Marcus", "Lena", "Omar", "Sofia", "Ethan", "Grace", "Noah", "Chloe", "Lucas", "Ava", "Mateo", "Zara",
    "Henry", "Mia", "Daniel", "Ingrid", "Kenji", "Fatima", "Liam", "Elena", "Samuel", "Hannah", "Ravi", "Olivia",
    "Victor", "Nora", "Felix", "Amara", "Jonas",
]
LAST_NAMES = [
    "Whitfield", "Reyes", "Novak", "Haddad", "Rossi", "Walker", "Kim", "Fischer", "Dubois", "Silva", "Patel",
    "Garcia", "Ahmed", "Murphy", "Jensen", "Okoro", "Larsen", "Tanaka", "Moreau", "Brennan", "Costa", "Weber",
    "Nguyen", "Schmidt", "Kowalski", "Lindqvist", "Mensah", "Ortega", "Hughes", "Varga",
]
TITLES = ["COO", "Head of Procurement", "IT Director", "Operations Manager", "CFO", "Fleet Manager",
          "VP Operations", "Purchasing Lead"]

INITIATIVES = [
    "Fleet Tracking Rollout", "Telematics Upgrade", "Cold Chain Pilot", "Route Optimization", "Safety Program",
    "Support Renewal", "Platform Expansion", "API Integration", "Regional Deployment", "Annual License Renewal",
]
LEAD_SOURCES = ["Web Site", "Cold Call", "Partner", "Trade Show", "Employee Referral", "Advertisement"]
DEAL_TYPES = ["New Business", "Existing Business"]

INVOICE_STATUSES = ["draft", "sent", "viewed", "overdue", "partially_paid", "paid", "void"]
INVOICE_WEIGHTS = [8, 12, 8, 12, 8, 45, 7]
ESTIMATE_STATUSES = ["draft", "sent", "accepted", "declined", "invoiced", "expired"]
PAYMENT_MODES = ["Bank Transfer", "Check", "Credit Card", "Cash"]
TERMS = [0, 15, 30, 30, 30, 45, 60]

TICKET_SUBJECTS = [
    "GPS units dropping signal", "Driver app login failures", "Invoice amount question", "Request for training",
    "Sensor battery draining fast", "API rate limit errors", "Dashboard shows stale positions",
    "Add new depot to account", "Replacement hardware request", "Export to CSV broken", "SSO configuration help",
    "Temperature alerts not firing", "Billing address change", "Route plan missing stops", "Gateway offline",
]
# status -> statusType; weights for generated tickets
TICKET_STATUSES = [("Open", "Open"), ("In Progress", "Open"), ("Escalated", "Open"), ("On Hold", "On Hold"),
                   ("Closed", "Closed")]
TICKET_WEIGHTS = [25, 10, 5, 10, 50]
PRIORITIES = ["High", "Medium", "Low", None]
CHANNELS = ["Email", "Phone", "Web", "Chat"]
AGENTS = [("Sam", "Ortiz"), ("Kate", "Morgan"), ("Ben", "Adeyemi")]
