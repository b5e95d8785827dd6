"""Zoho Desk endpoints Throughline calls, as Zoho's OpenAPI files (public repo zoho/zohodesk-oas, v1.0/) state them.

Key sets are copied from the named schemas (`additionalProperties: false` throughout). Where this file had to go
beyond what was read in the spec, `notes` says so.
"""

from __future__ import annotations

from tests.contracts._framework import Endpoint, keyset

OAS = "zoho/zohodesk-oas v1.0/"

# Ticket.json listviewCommonJson (commonKeys + its own properties) and listviewJson's additions: a ticket list row.
# No modifiedTime, isEscalated, isOverDue.
_COMMON_KEYS = keyset("productId", "phone", "subject", "dueDate", "channel", "language", "priority", "assigneeId",
                      "email")  # Ticket.json commonKeys
TICKET_LIST_ROW = _COMMON_KEYS | keyset(
    "ticketNumber", "sentiment", "customerResponseTime", "statusType", "relationshipType", "contactId", "isArchived",
    "departmentId", "threadCount", "onholdTime", "lastThread", "source", "closedTime", "commentCount", "accountId",
    "responseDueDate", "webUrl", "teamId", "createdTime", "id", "isSpam", "status", "channelCode", "lockedTime",
    "subCategory", "category", "layoutId",
)
LIST_ROW_LACKS = keyset("modifiedTime", "isEscalated", "isOverDue")
# Ticket.json getTickets / Account.json getTicketsByAccount: what `include` nests into a row.
TICKET_INCLUDES = keyset("contact", "product", "department", "team", "assignee", "isRead")
# Search.json searchTicketResponseFields
TICKET_SEARCH_ROW = keyset(
    "modifiedTime", "subCategory", "statusType", "subject", "dueDate", "departmentId", "channel", "onholdTime",
    "language", "sharedDepartments", "resolution", "closedTime", "isOverDue", "contact", "createdTime", "id",
    "customerResponseTime", "productId", "contactId", "threadCount", "secondaryContacts", "priority",
    "classification", "commentCount", "accountId", "phone", "webUrl", "assignee", "isSpam", "childTicketCount",
    "status", "entitySkills", "ticketNumber", "customFields", "isArchived", "isRead", "description",
    "responseDueDate", "modifiedBy", "department", "email", "product", "cf", "slaId", "lastThread", "team",
    "assigneeId", "layoutId", "createdBy", "teamId", "isEscalated", "category", "relationshipType", "parentTicket",
    "sourceTicket", "lockedTime",
)
# Ticket.json getTicket: ticket_detail_response = its own keys + ticketResponse (commonJson + properties), plus
# what `include` nests (single_ticket_include_response).
TICKET_DETAIL = _COMMON_KEYS | keyset(
    "sentiment", "isFollowing", "createdBy", "tagCount", "followerCount",
    "subCategory", "cf", "customFields", "description", "classification", "category", "status", "sourceTicket",
    "entitySkills", "modifiedTime", "ticketNumber", "statusType", "isArchived", "departmentId", "onholdTime", "source",
    "resolution", "closedTime", "approvalCount", "timeEntryCount", "isOverDue", "channelRelatedInfo", "isDeleted",
    "isTrashed", "responseDueDate", "createdTime", "modifiedBy", "id", "isResponseOverdue", "channelCode",
    "customerResponseTime", "threadCount", "secondaryContacts", "commentCount", "accountId", "taskCount", "teamId",
    "attachmentCount", "isEscalated", "isSpam", "slaId", "contactId", "sharedDepartments", "layoutId",
    "layoutDetails", "webUrl", "lockedTime",
    "product", "contact", "assignee", "department", "isRead", "team", "skillsInfo", "contractId",
)
# Account.json accountListViewObject: no modifiedTime.
ACCOUNT_LIST_ROW = keyset("website", "accountName", "phone", "email", "webUrl", "createdTime", "zohoCRMAccount", "id",
                          "customerHappiness")
# Account.json accountjson (createAccount body; updateAccount_accountjson is the same set)
ACCOUNT_WRITE = keyset("website", "accountName", "phone", "email", "country", "code", "cf", "city", "customFields",
                       "street", "annualrevenue", "description", "industry", "state", "ownerId", "fax",
                       "associatedSLAIds", "layoutId")
# Account.json accountResponse (getAccount, createAccount, updateAccount)
ACCOUNT_DETAIL = ACCOUNT_WRITE | keyset("modifiedTime", "isFollowing", "isDeleted", "isTrashed", "webUrl",
                                        "createdTime", "zohoCRMAccount", "id", "layoutDetails", "owner")
# Search.json searchAccountResponseFields (accountFields + its extra properties): no zohoCRMAccount.
ACCOUNT_SEARCH_ROW = keyset("owner", "website", "cf", "accountName", "phone", "webUrl", "customFields", "id", "email",
                            "country", "modifiedTime", "code", "city", "description", "industry", "ownerId",
                            "layoutId", "annualrevenue", "street", "createdTime", "state", "fax")

# Contact.json listViewObject (+ listViewObjectWithMappingInfo's mappingInfo): no modifiedTime.
CONTACT_LIST_ROW = keyset("lastName", "accountId", "firstName", "secondaryEmail", "phone", "mobile", "ownerId", "type",
                          "email", "photoURL", "isAnonymous", "accountCount", "webUrl", "createdTime", "isEndUser",
                          "zohoCRMContact", "id", "customerHappiness", "isSpam")
# Contact.json contactjson (createContact body)
CONTACT_WRITE = keyset("lastName", "accountId", "firstName", "secondaryEmail", "phone", "mobile", "ownerId", "type",
                       "email", "zip", "country", "twitter", "cf", "city", "customFields", "street", "facebook",
                       "description", "state", "title")

RANGE = "2026-01-01T00:00:00.000Z,2099-12-31T23:59:59.999Z"
CUSTOM = keyset(f"customField{i}" for i in range(1, 11))

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        app="desk", name="tickets/search", method="GET", path="/api/v1/tickets/search",
        source=OAS + "Search.json searchTickets, searchTicketsResponse",
        params=keyset("email", "phone", "ticketNumber", "accountName", "subject", "departmentId", "productName", "_all",
                      "limit", "from", "dueDateRange", "id", "productId", "contactId", "createdTimeRange", "priority",
                      "assigneeId", "accountId", "modifiedTimeRange", "status", "channel",
                      "customerResponseTimeRange", "description", "sortBy", "tag", "contactName", "category", CUSTOM),
        keys=TICKET_SEARCH_ROW, envelope=keyset("data", "count"),
        used_params={"modifiedTimeRange": RANGE, "sortBy": "-modifiedTime", "from": "0", "limit": "100"},
        enums={"sortBy": keyset("relevance", "modifiedTime", "createdTime", "customerResponseTime")},
        notes="from 0..999, limit 1..100; 204 when nothing matches",
    ),
    Endpoint(
        app="desk", name="tickets/{id}", method="GET", path="/api/v1/tickets/{ticket_id}",
        source=OAS + "Ticket.json getTicket, ticket_detail_response", params=keyset("include"), keys=TICKET_DETAIL,
        records=None,
    ),
    Endpoint(
        app="desk", name="tickets", method="GET", path="/api/v1/tickets",
        source=OAS + "Ticket.json getTickets, listviewCommonJson, listviewJson",
        params=keyset("from", "limit", "sortBy", "include", "departmentIds", "priority", "status", "assignee",
                      "channel", "receivedInDays", "viewId"),
        keys=TICKET_LIST_ROW, envelope=keyset("data"), absent=LIST_ROW_LACKS,
        used_params={"from": "0", "limit": "100", "sortBy": "-createdTime"},
        enums={"sortBy": keyset("dueDate", "createdTime", "recentThread")},
        notes="Throughline no longer reads this list (its rows lack change time and flags); pinned so the "
              "sandbox cannot grow them back",
    ),
    Endpoint(
        app="desk", name="accounts/{id}/tickets", method="GET", path="/api/v1/accounts/{account_id}/tickets",
        source=OAS + "Account.json getTicketsByAccount, getTicketsByAccountListObject",
        params=keyset("include", "departmentId", "dueDate", "limit", "from", "sortBy", "isSpam"),
        keys=TICKET_LIST_ROW, envelope=keyset("data"), absent=LIST_ROW_LACKS,
        used_params={"from": "1", "limit": "100", "sortBy": "-createdTime"},
        enums={"sortBy": keyset("createdTime", "modifiedTime")},
        notes="`from` defaults to 1 on this route",
    ),
    Endpoint(
        app="desk", name="accounts", method="GET", path="/api/v1/accounts",
        source=OAS + "Account.json getAccounts, accountListViewObject",
        params=keyset("viewId", "limit", "from", "sortBy", "fields", "filters", "filterId"),
        keys=ACCOUNT_LIST_ROW, envelope=keyset("data"), absent=keyset("modifiedTime"),
        used_params={"from": "1", "limit": "100"},
        enums={"sortBy": keyset("website", "email", "phone", "accountName", "createdTime", "modifiedTime")},
        notes="`from` defaults to 1",
    ),
    Endpoint(
        app="desk", name="accounts/search", method="GET", path="/api/v1/accounts/search",
        source=OAS + "Search.json searchAccounts, searchAccountsResponse",
        params=keyset("accountName", "createdTimeRange", "limit", "from", "modifiedTimeRange", "id", "_all", "sortBy",
                      CUSTOM),
        keys=ACCOUNT_SEARCH_ROW, envelope=keyset("data", "count"), absent=keyset("zohoCRMAccount"),
        used_params={"accountName": "*Northwind*", "from": "0", "limit": "100"},
        enums={"sortBy": keyset("relevance", "modifiedTime", "createdTime")},
        notes="sortBy values GUESSED from the other searches (the page read did not reach it)",
    ),
    Endpoint(
        app="desk", name="accounts/{id}", method="GET", path="/api/v1/accounts/{account_id}",
        source=OAS + "Account.json getAccount, accountResponse", params=keyset("include"), keys=ACCOUNT_DETAIL,
        records=None, enums={"include": keyset("owner")},
    ),
    Endpoint(
        app="desk", name="accounts (create)", method="POST", path="/api/v1/accounts",
        source=OAS + "Account.json createAccount, accountjson, accountResponse", keys=ACCOUNT_DETAIL, records=None,
        body_keys=ACCOUNT_WRITE, notes="no CRM link field: zohoCRMAccount is set by Zoho's CRM–Desk integration",
    ),
    Endpoint(
        app="desk", name="accounts/{id} (update)", method="PATCH", path="/api/v1/accounts/{account_id}",
        source=OAS + "Account.json updateAccount, updateAccount_accountjson", keys=ACCOUNT_DETAIL, records=None,
        body_keys=ACCOUNT_WRITE, notes="no CRM link field; Throughline does not call it",
    ),
    Endpoint(
        app="desk", name="accounts/{id}/contacts", method="GET", path="/api/v1/accounts/{account_id}/contacts",
        source=OAS + "Contact.json getContactsUnderAccount, listViewObjectWithMappingInfo",
        params=keyset("limit", "from", "isSpam", "sortBy"), keys=CONTACT_LIST_ROW | keyset("mappingInfo"),
        envelope=keyset("data"), absent=keyset("modifiedTime"), used_params={"from": "1", "limit": "100"},
        enums={"sortBy": keyset("firstName", "lastName", "phone", "fullName", "email", "createdTime",
                                "modifiedTime")},
        notes="`from` has no documented default; 1 as on the account routes worded the same way (GUESSED)",
    ),
    Endpoint(
        app="desk", name="contacts (create)", method="POST", path="/api/v1/contacts",
        source=OAS + "Contact.json createContact, contactjson", records=None, body_keys=CONTACT_WRITE,
        notes="answer keys (contactResponse) not pinned",
    ),
)

# Routes Throughline calls whose answer is not pinned (Contact.json's contactResponse not read): listed so the gap
# is visible; their parameters and body keys are pinned above.
UNPINNED: tuple[tuple[str, str], ...] = ()


def endpoint(name: str, method: str = "GET") -> Endpoint:
    return next(e for e in ENDPOINTS if e.name == name and e.method == method)
