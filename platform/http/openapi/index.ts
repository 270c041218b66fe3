/**
 * Builds the OpenAPI 3.1 document of the REST gateway from what the service registry knows:
 * each alias (method + path → action) and each action's fastest-validator `params` schema.
 *
 * Pure on purpose: no broker, no moleculer import. The gateway collects routes and actions and
 * calls `buildOpenApiDocument`; the same function runs in unit tests on hand-made input.
 */
export * from "./types";
export { convertActionParams, convertParamRule, type ConvertedParams, type ConvertedRule } from "./param-rules";
export { expandRoutePath, type PathVariant } from "./route-paths";
export { buildOpenApiDocument } from "./document";
export { DOCS_INITIALIZER_FILE, renderDocsInitializer, renderDocsPage, swaggerUiAssetsDir } from "./docs-page";
