/**
 * The six servers the adapter tests run against, each on 127.0.0.1 at its standard port: how to
 * install it when missing, start it detached with its data under BACKENDS_DIR and its log under
 * LOGS_DIR, and stop it. PostgreSQL, Redis and NATS come from Debian's packages; Kafka, Neo4j and
 * OpenSearch from Maven Central through the poms beside this file. Every JVM gets a bounded heap:
 * the machines have 2 cores, and all six run beside the test suite.
 */
import fs from "node:fs";
import path from "node:path";
import {
	BACKENDS_DIR,
	LOGS_DIR,
	chownRecursive,
	isRoot,
	commandExists,
	ensureDebianPackages,
	ensureSystemUser,
	javaCommand,
	javaHome,
	mavenCopy,
	readPid,
	run,
	spawnDetached,
	stopProcess,
} from "./host";
import type { BackendName } from "./probes";

export interface BackendServer {
	/** The probe that tells it is ready (probes.ts). */
	kind: BackendName;
	/** Its folder under BACKENDS_DIR and its log's name; the kind, unless a test runs one of its own. */
	name: string;
	/** Where `up` starts it, whatever TEST_<NAME>_URL says (that may point elsewhere). */
	url: string;
	logFile: string;
	dataDir: string;
	/** How long `up` waits for the first answered query. */
	readyTimeoutMs: number;
	/** Installs what is missing (packages, jars, config); quick when everything is there. */
	prepare(): void;
	start(): void;
	/** After the first answered query: databases, users and the like. */
	afterReady?(): Promise<void>;
	stop(): Promise<void>;
	pid(): number | undefined;
}

const MAVEN_DIR = path.join(__dirname, "maven");
const dirOf = (name: string) => path.join(BACKENDS_DIR, name);
const logOf = (name: string) => path.join(LOGS_DIR, `${name}.log`);
const pidFileOf = (name: string) => path.join(dirOf(name), "pid");

/** A server we start ourselves and track by pid file (all but PostgreSQL, which Debian manages). */
function detached(
	kind: BackendName,
	name: string,
	spec: Omit<BackendServer, "kind" | "name" | "logFile" | "dataDir" | "stop" | "pid" | "start"> & {
		launch(): { command: string; args: string[]; cwd?: string; env?: NodeJS.ProcessEnv; asUser?: string };
		stopGraceMs?: number;
	},
): BackendServer {
	const dataDir = path.join(dirOf(name), "data");
	return {
		kind,
		name,
		logFile: logOf(name),
		dataDir,
		...spec,
		start() {
			fs.mkdirSync(dataDir, { recursive: true });
			const { command, args, cwd, env, asUser } = spec.launch();
			spawnDetached(command, args, { logFile: logOf(name), pidFile: pidFileOf(name), cwd, env, asUser });
		},
		async stop() {
			const pid = readPid(pidFileOf(name));
			if (pid) await stopProcess(pid, spec.stopGraceMs);
			fs.rmSync(pidFileOf(name), { force: true });
		},
		pid: () => readPid(pidFileOf(name)),
	};
}

// ------------------------------------------------------------------------------------ PostgreSQL

function postgresVersion(): string {
	const versions = fs.existsSync("/usr/lib/postgresql") ? fs.readdirSync("/usr/lib/postgresql").filter(v => /^\d+$/.test(v)) : [];
	if (!versions.length) throw new Error("no PostgreSQL server under /usr/lib/postgresql after installing the postgresql package");
	return versions.sort((a, b) => Number(b) - Number(a))[0];
}

const PG_HBA_MARK = "# lootopia test backends: passwordless local TCP (the README's default test URLs carry no password)";

/** As pg_lsclusters (readable by anyone) reports it: true when the cluster's postmaster runs. */
function clusterOnline(version: string): boolean {
	return run("pg_lsclusters", ["-h", version, "main"], { quiet: true }).split(/\s+/)[3] === "online";
}

const postgres: BackendServer = {
	kind: "postgres",
	name: "postgres",
	// The maintenance database: it exists before afterReady creates `test`.
	url: "postgres://postgres@127.0.0.1:5432/postgres",
	get logFile() {
		return `/var/log/postgresql/postgresql-${postgresVersion()}-main.log`;
	},
	get dataDir() {
		return `/var/lib/postgresql/${postgresVersion()}/main`;
	},
	readyTimeoutMs: 60_000,
	prepare() {
		ensureDebianPackages([{ pkg: "postgresql", present: () => commandExists("pg_ctlcluster") && fs.existsSync("/usr/lib/postgresql") && fs.readdirSync("/usr/lib/postgresql").length > 0 }]);
		const version = postgresVersion();
		if (!fs.existsSync(`/etc/postgresql/${version}/main`)) run("pg_createcluster", [version, "main"], { asRoot: true });
		// Trust comes first: pg_hba.conf is read top to bottom and Debian's own lines ask for a password.
		// The file belongs to postgres (mode 640), hence cat and tee as root.
		const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
		const current = run("cat", [hba], { asRoot: true, quiet: true });
		if (!current.includes(PG_HBA_MARK)) {
			run("tee", [hba], { asRoot: true, quiet: true, input: `${PG_HBA_MARK}\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n${current}` });
			if (clusterOnline(version)) run("pg_ctlcluster", [version, "main", "reload"], { asRoot: true });
		}
	},
	start() {
		// Installing the package may already have started it (where the init system allows).
		const version = postgresVersion();
		if (!clusterOnline(version)) run("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "start"], { asRoot: true });
	},
	async afterReady() {
		const { Client } = await import("pg");
		const client = new Client({ connectionString: "postgres://postgres@127.0.0.1:5432/postgres" });
		await client.connect();
		try {
			for (const database of ["test", "lootopia"]) {
				const exists = await client.query("select 1 from pg_database where datname = $1", [database]);
				if (!exists.rowCount) await client.query(`create database ${database}`);
			}
		} finally {
			await client.end();
		}
	},
	async stop() {
		const version = postgresVersion();
		if (clusterOnline(version)) run("pg_ctlcluster", ["--skip-systemctl-redirect", version, "main", "stop", "--", "-m", "fast"], { asRoot: true });
	},
	pid() {
		try {
			// The data folder is postgres's own (mode 700).
			return readPid("postmaster.pid", run("cat", [`/var/lib/postgresql/${postgresVersion()}/main/postmaster.pid`], { asRoot: true, quiet: true }));
		} catch {
			return undefined;
		}
	},
};

// ------------------------------------------------------------------------------- Redis and NATS

const redis = detached("redis", "redis", {
	url: "redis://127.0.0.1:6379",
	readyTimeoutMs: 20_000,
	prepare: () => ensureDebianPackages([{ pkg: "redis-server", present: "redis-server" }]),
	launch: () => ({
		command: "redis-server",
		// A cache for tests: nothing persisted, so a restart starts empty.
		args: ["--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no", "--dir", path.join(dirOf("redis"), "data"), "--logfile", ""],
	}),
});

const nats = detached("nats", "nats", {
	url: "nats://127.0.0.1:4222",
	// JetStream restores every stream before it answers: slow on a server with many left behind.
	readyTimeoutMs: 120_000,
	prepare: () => ensureDebianPackages([{ pkg: "nats-server", present: "nats-server" }]),
	launch: () => ({ command: "nats-server", args: ["-a", "127.0.0.1", "-p", "4222", "-js", "-sd", path.join(dirOf("nats"), "data")] }),
});

// ------------------------------------------------------------------------------------------ Kafka

/** docker-compose.yml runs apache/kafka:3.9.1; KAFKA_VERSION tries another (4.x included). */
const KAFKA_VERSION = process.env.KAFKA_VERSION ?? "3.9.1";
/** Any 16 bytes in base64url; it only has to stay the same across restarts of one data folder. */
const KAFKA_CLUSTER_ID = "TG9vdG9waWFCYWNrZW5kcw";

function kafkaLib(): string {
	const lib = path.join(dirOf("kafka"), `lib-${KAFKA_VERSION}`);
	mavenCopy(path.join(MAVEN_DIR, "kafka", "pom.xml"), lib, "copy-dependencies", { extraArgs: [`-Dkafka.version=${KAFKA_VERSION}`], expect: `kafka_2.13-${KAFKA_VERSION}.jar` });
	return lib;
}

/**
 * A second listener that tells clients to come back through `advertisedPort`, where a test runs a
 * TCP proxy it can cut: Kafka clients connect to the advertised address, so a proxy in front of the
 * normal listener would be bypassed after the first metadata answer.
 */
export const KAFKA_PROXIED_LISTENER = { port: 9094, advertisedPort: 9095 } as const;

const kafkaConfig = (dataDir: string) => `# Written by npm run backends: one node, broker and controller (KRaft), plaintext on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
# PROXIED: for tests that cut the connection (see KAFKA_PROXIED_LISTENER in servers.ts).
listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093,PROXIED://127.0.0.1:${KAFKA_PROXIED_LISTENER.port}
advertised.listeners=PLAINTEXT://127.0.0.1:9092,PROXIED://127.0.0.1:${KAFKA_PROXIED_LISTENER.advertisedPort}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT
log.dirs=${dataDir}
# As docker-compose.yml: three partitions per topic, so a group's consumers share the work.
num.partitions=3
# A single broker cannot hold more than one replica of the internal topics.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Kafka 4's group coordinator waits up to 10 ms to batch offset commits; the channels adapter commits
# after every message, which made deliveries 8x slower on 4.1 (1,184/s with 0, 150/s with the default).
# Kafka 3.9 ignores it.
group.coordinator.append.linger.ms=0
`;

const JVM_COMMON = ["-Djava.awt.headless=true", "-XX:+ExitOnOutOfMemoryError"];

const kafka = detached("kafka", "kafka", {
	url: "kafka://127.0.0.1:9092",
	readyTimeoutMs: 90_000,
	prepare() {
		const java = javaCommand();
		const lib = kafkaLib();
		const dataDir = path.join(dirOf("kafka"), "data");
		const config = path.join(dirOf("kafka"), "server.properties");
		fs.mkdirSync(dataDir, { recursive: true });
		fs.writeFileSync(config, kafkaConfig(dataDir));
		if (!fs.existsSync(path.join(dataDir, "meta.properties"))) {
			run(java, ["-cp", `${lib}/*`, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "kafka.tools.StorageTool", "format", "-t", KAFKA_CLUSTER_ID, "-c", config], { quiet: true });
		}
	},
	launch: () => ({
		command: javaCommand(),
		args: [
			"-Xms256m",
			"-Xmx512m",
			"-XX:+UseG1GC",
			"-XX:MaxGCPauseMillis=50",
			...JVM_COMMON,
			"-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
			"-Dorg.slf4j.simpleLogger.showDateTime=true",
			"-cp",
			`${kafkaLib()}/*`,
			"kafka.Kafka",
			path.join(dirOf("kafka"), "server.properties"),
		],
	}),
});

// ------------------------------------------------------------------------------------------ Neo4j

const neo4jConfig = (home: string) => `# Written by npm run backends: Bolt only, on loopback, without authentication (tests only).
server.default_listen_address=127.0.0.1
server.default_advertised_address=127.0.0.1
dbms.security.auth_enabled=false
server.bolt.enabled=true
server.bolt.listen_address=127.0.0.1:7687
server.bolt.tls_level=DISABLED
server.http.enabled=false
server.https.enabled=false
# Checked against -Xmx at start-up (the JVM flags below are what bound it; bin/neo4j is not used).
server.memory.heap.max_size=512m
server.memory.pagecache.size=64m
dbms.memory.transaction.total.max=128m
server.directories.data=${home}/data
server.directories.logs=${LOGS_DIR}/neo4j
server.directories.run=${home}/run
dbms.usage_report.enabled=false
# Bolt's Netty waits a 5 s quiet period per connector on SIGTERM; nothing is in flight in tests.
internal.dbms.bolt.netty_server_shutdown_quiet_period=0
internal.dbms.bolt.netty_server_shutdown_timeout=5
`;

function neo4jLib(): string {
	const lib = path.join(dirOf("neo4j"), "lib");
	mavenCopy(path.join(MAVEN_DIR, "neo4j", "pom.xml"), lib, "copy-dependencies", { expect: "neo4j-5.26.30.jar" });
	return lib;
}

const neo4j = detached("neo4j", "neo4j", {
	url: "bolt://127.0.0.1:7687",
	readyTimeoutMs: 120_000,
	prepare() {
		neo4jLib();
		const home = dirOf("neo4j");
		fs.mkdirSync(path.join(home, "conf"), { recursive: true });
		fs.writeFileSync(path.join(home, "conf", "neo4j.conf"), neo4jConfig(home));
	},
	launch() {
		const home = dirOf("neo4j");
		return {
			command: javaCommand(),
			args: [
				"-Xms128m",
				"-Xmx512m",
				// A small heap for tests: the serial collector keeps the resident size ~20% lower than G1.
				"-XX:+UseSerialGC",
				...JVM_COMMON,
				"-XX:+DisableExplicitGC",
				"-Djdk.nio.maxCachedBufferSize=1024",
				"-Dio.netty.tryReflectionSetAccessible=true",
				"-Dlog4j2.disable.jmx=true",
				// What bin/neo4j would pass: Neo4j's page cache and Netty reach into these packages.
				"--add-opens=java.base/java.nio=ALL-UNNAMED",
				"--add-opens=java.base/java.io=ALL-UNNAMED",
				"--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
				"--enable-native-access=ALL-UNNAMED",
				"-cp",
				`${neo4jLib()}/*`,
				"org.neo4j.server.CommunityEntryPoint",
				`--home-dir=${home}`,
				`--config-dir=${path.join(home, "conf")}`,
			],
		};
	},
});

// ------------------------------------------------------------------------------------- OpenSearch

const OPENSEARCH_USER = "lootopia-opensearch";
const OPENSEARCH_VERSION = "2.19.6";

/** The unpacked distribution stays as Maven left it; everything the server writes lives in its run folder. */
function opensearchHome(): string {
	const dist = path.join(dirOf("opensearch"), "dist");
	mavenCopy(path.join(MAVEN_DIR, "opensearch", "pom.xml"), dist, "unpack-dependencies", { expect: `opensearch-${OPENSEARCH_VERSION}/bin/opensearch` });
	return path.join(dist, `opensearch-${OPENSEARCH_VERSION}`);
}

const opensearchConfig = (run: string, httpPort: number, transportPort: number) => `# Written by npm run backends: one node on loopback, no security plugin in this distribution.
cluster.name: lootopia-test
node.name: node-1
discovery.type: single-node
network.host: 127.0.0.1
http.port: ${httpPort}
transport.port: ${transportPort}
path.data: ${run}/data
path.logs: ${run}/logs
`;

/**
 * One OpenSearch node. `npm run backends` runs the shared one on 9200; a test that must stop and
 * restart a server runs its own beside it (another name, other ports) so other suites keep theirs.
 */
export function opensearchServer(name = "opensearch", httpPort = 9200, transportPort = 9300): BackendServer {
	const run = dirOf(name);
	return detached("opensearch", name, {
		url: `http://127.0.0.1:${httpPort}`,
		readyTimeoutMs: 120_000,
		stopGraceMs: 30_000,
		prepare() {
			const home = opensearchHome();
			// It refuses to run as root: as root, a system user of its own owns the run folder.
			if (isRoot) ensureSystemUser(OPENSEARCH_USER);
			const config = path.join(run, "config");
			for (const dir of ["config/jvm.options.d", "data", "logs", "tmp"]) fs.mkdirSync(path.join(run, dir), { recursive: true });
			fs.copyFileSync(path.join(home, "config", "log4j2.properties"), path.join(config, "log4j2.properties"));
			// jvm.options points GC logs and heap dumps at folders relative to the distribution.
			const jvmOptions = fs
				.readFileSync(path.join(home, "config", "jvm.options"), "utf8")
				.replaceAll("logs/", `${run}/logs/`)
				.replace("HeapDumpPath=data", `HeapDumpPath=${run}/data`);
			fs.writeFileSync(path.join(config, "jvm.options"), jvmOptions);
			fs.writeFileSync(path.join(config, "opensearch.yml"), opensearchConfig(run, httpPort, transportPort));
			if (isRoot)
				chownRecursive(
					OPENSEARCH_USER,
					["config", "data", "logs", "tmp"].map(dir => path.join(run, dir)),
				);
		},
		launch: () => ({
			command: path.join(opensearchHome(), "bin", "opensearch"),
			args: [],
			cwd: run,
			asUser: isRoot ? OPENSEARCH_USER : undefined,
			env: {
				PATH: process.env.PATH,
				OPENSEARCH_JAVA_HOME: javaHome(),
				OPENSEARCH_PATH_CONF: path.join(run, "config"),
				// Given, it spares the launcher a helper JVM that would only compute it.
				OPENSEARCH_TMPDIR: path.join(run, "tmp"),
				// Comes after jvm.options' 1 GiB, so this wins.
				OPENSEARCH_JAVA_OPTS: "-Xms512m -Xmx512m",
			},
		}),
	});
}

const opensearch = opensearchServer();

export const SERVERS: Record<BackendName, BackendServer> = { postgres, redis, nats, kafka, neo4j, opensearch };
