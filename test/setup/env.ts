// Tests never write into the developer's ./data folder or print development logs.
process.env.NODE_ENV = process.env.NODE_ENV === "production" ? "production" : "test";
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? "warn";
