// The smoke scenario through the AWS SDK for JavaScript v3, for tests/clients/test_js_sdk.py.
//
// usage: node smoke.mjs ENDPOINT NODE_MODULES_PARENT
// NODE_MODULES_PARENT is the directory where `@aws-sdk/client-connectcases` was npm-installed.
// Prints one JSON summary on stdout; on an unexpected error prints it on stderr and exits 1.
import { createRequire } from "node:module";
import path from "node:path";

const [endpoint, installDir] = process.argv.slice(2);
if (!endpoint || !installDir) {
  console.error("usage: node smoke.mjs ENDPOINT NODE_MODULES_PARENT");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(installDir), "package.json"));
const sdk = require("@aws-sdk/client-connectcases");
const sdkVersion = require("@aws-sdk/client-connectcases/package.json").version;

const ACCOUNT = "123456789012";
const USER_ARN = `arn:aws:connect:us-east-1:${ACCOUNT}:instance/i-1/agent/a-1`;

const client = new sdk.ConnectCasesClient({
  endpoint,
  region: "us-east-1",
  credentials: { accessKeyId: ACCOUNT, secretAccessKey: "x" },
  maxAttempts: 1,
});
const send = (Command, input) => client.send(new Command(input));

async function main() {
  const { domainId } = await send(sdk.CreateDomainCommand, { name: "JS smoke" });
  const { fieldId } = await send(sdk.CreateFieldCommand, { domainId, name: "Notes", type: "Text" });
  const { templateId } = await send(sdk.CreateTemplateCommand, {
    domainId, name: "Basic", requiredFields: [{ fieldId: "title" }],
  });
  const { caseId } = await send(sdk.CreateCaseCommand, {
    domainId, templateId,
    fields: [
      { id: "title", value: { stringValue: "Printer on fire" } },
      { id: fieldId, value: { stringValue: "first" } },
    ],
  });
  await send(sdk.UpdateCaseCommand, {
    domainId, caseId,
    fields: [{ id: fieldId, value: { stringValue: "second" } }],
    performedBy: { userArn: USER_ARN },
  });
  const item = await send(sdk.CreateRelatedItemCommand, {
    domainId, caseId, type: "Comment",
    content: { comment: { body: "Called the customer", contentType: "Text/Plain" } },
  });
  const audit = await send(sdk.GetCaseAuditEventsCommand, { domainId, caseId });
  const got = await send(sdk.GetCaseCommand, {
    domainId, caseId, fields: [{ id: "title" }, { id: fieldId }],
  });

  // A modeled error must come back as the SDK's typed exception.
  let error = null;
  try {
    await send(sdk.GetDomainCommand, { domainId: "no-such-domain" });
  } catch (e) {
    error = {
      name: e.name,
      typed: e instanceof sdk.ResourceNotFoundException,
      status: e.$metadata?.httpStatusCode ?? null,
      message: e.message,
    };
  }

  const dateTypes = audit.auditEvents.map((e) => e.performedTime instanceof Date);
  return {
    sdkVersion, domainId, fieldId, templateId, caseId,
    relatedItem: { relatedItemId: item.relatedItemId, relatedItemArn: item.relatedItemArn },
    auditEvents: audit.auditEvents,
    performedTimeIsDate: dateTypes,
    getCase: { templateId: got.templateId, fields: got.fields },
    error,
  };
}

main().then(
  (summary) => console.log(JSON.stringify(summary)),
  (e) => {
    const status = e?.$metadata?.httpStatusCode;
    console.error(`${e?.name ?? "Error"} (HTTP ${status ?? "?"}): ${e?.message ?? e}`);
    if (e?.$response) console.error("response:", e.$response.statusCode, e.$response.headers);
    console.error(e?.stack ?? "");
    process.exit(1);
  },
);
