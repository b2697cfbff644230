"""Operations whose issue is not done yet: they answer a clear ValidationException, never a 500."""

from opencases.services.registry import PENDING

_LATER = {
    "TEMP [1]": ["GetLayout", "UpdateLayout", "ListLayouts", "GetCaseEventConfiguration", "TagResource",
                 "DeleteLayout", "GetTemplate", "BatchGetCaseRule", "DeleteTemplate", "UpdateCaseRule",
                 "PutCaseEventConfiguration", "DeleteCaseRule", "UntagResource", "ListTemplates",
                 "UpdateTemplate", "ListCaseRules", "CreateTemplate", "CreateCaseRule",
                 "ListTagsForResource", "CreateLayout"],
    "[2] cases, related items and audit": [
        "CreateCase", "GetCase", "UpdateCase", "DeleteCase", "BatchUpdateCase", "ListCasesForContact",
        "CreateRelatedItem", "UpdateRelatedItem", "DeleteRelatedItem", "BatchCreateRelatedItem",
        "GetCaseAuditEvents", "StartMergeCases", "GetMergeCasesStatus",
    ],
    "[3] search": ["SearchRelatedItems", "SearchAllRelatedItems"],
}

for issue, names in _LATER.items():
    for name in names:
        PENDING[name] = f"issue {issue}"
