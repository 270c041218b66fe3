/**
 * Deployment files are code that only runs on someone else's machine: no Docker engine nor cluster runs
 * here, so these tests render and check them statically. Kubernetes objects are rendered per overlay
 * (test/deploy/kustomize.ts) and validated against the official API schemas (kubernetes-models);
 * docker-compose.yml against the Compose Specification schema; the Dockerfile through a real parser.
 * On top of the schemas, the facts that make a deployment work are asserted across files: probes hit the
 * ports the app listens on, references resolve, the app's own config loader accepts the environment.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import Ajv from "ajv";
import { DockerfileParser, From, Healthcheck, Cmd, Copy, Env, Instruction } from "dockerfile-ast";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IProbe } from "kubernetes-models/v1/Probe";
import { ConfigError, loadConfig } from "../../platform/config/env";
import { applyJsonPatch, isLocalConfig, JsonValue, Manifest, readYamlDocuments, renderKustomization, RenderResult, resourceId, splitImage, strategicMerge } from "./kustomize";

const ROOT = path.resolve(__dirname, "../..");
const K8S_DIR = path.join(ROOT, "k8s");
const BASE_DIR = path.join(K8S_DIR, "base");
const OVERLAYS = ["dev", "int", "prod"] as const;
type OverlayName = (typeof OVERLAYS)[number];

/** Defaults of platform/config/env.ts that the deployment relies on when a variable is not set. */
const APP_DEFAULTS = { PORT: 3000, SHUTDOWN_TIMEOUT_MS: 10_000, DATA_DIR: "/app/data" };
const LIVE_PATH = "/health/live";
const READY_PATH = "/health/ready";

// ---------------------------------------------------------------------------------------------------
// Kubernetes models: one class per apiVersion/kind the manifests may contain. A kind missing here fails
// the test, so a new kind gets a schema check before it gets deployed.

type K8sModel = ConfigMap | Secret | Service | Deployment | HorizontalPodAutoscaler | PodDisruptionBudget;
const MODEL_FACTORIES: Record<string, (data: any) => K8sModel> = {
	"v1/ConfigMap": data => new ConfigMap(data),
	"v1/Secret": data => new Secret(data),
	"v1/Service": data => new Service(data),
	"apps/v1/Deployment": data => new Deployment(data),
	"autoscaling/v2/HorizontalPodAutoscaler": data => new HorizontalPodAutoscaler(data),
	"policy/v1/PodDisruptionBudget": data => new PodDisruptionBudget(data),
};

function toValidatedModel(obj: Manifest): K8sModel {
	const factory = MODEL_FACTORIES[`${obj.apiVersion}/${obj.kind}`];
	if (!factory) throw new Error(`${obj.apiVersion} ${obj.kind} "${obj.metadata.name}": no kubernetes-models class registered in deploy.test.ts`);
	const model = factory(structuredClone(obj));
	try {
		model.validate();
	} catch (err) {
		throw new Error(`${obj.kind} "${obj.metadata.name}" fails the Kubernetes schema: ${(err as Error).message}`);
	}
	return model;
}

interface RenderedOverlay {
	name: OverlayName;
	render: RenderResult;
	deployments: Deployment[];
	services: Service[];
	hpas: HorizontalPodAutoscaler[];
	pdbs: PodDisruptionBudget[];
	configMaps: ConfigMap[];
	/** Secrets in the output plus local-config templates: a secretKeyRef may point at either. */
	secrets: Secret[];
}

function renderOverlay(name: OverlayName): RenderedOverlay {
	const render = renderKustomization(path.join(K8S_DIR, "overlays", name));
	const models = render.objects.map(toValidatedModel);
	const templates = render.localConfig.map(toValidatedModel);
	return {
		name,
		render,
		deployments: models.filter((m): m is Deployment => m instanceof Deployment),
		services: models.filter((m): m is Service => m instanceof Service),
		hpas: models.filter((m): m is HorizontalPodAutoscaler => m instanceof HorizontalPodAutoscaler),
		pdbs: models.filter((m): m is PodDisruptionBudget => m instanceof PodDisruptionBudget),
		configMaps: models.filter((m): m is ConfigMap => m instanceof ConfigMap),
		secrets: [...models, ...templates].filter((m): m is Secret => m instanceof Secret),
	};
}

function containersOf(deployment: Deployment): IContainer[] {
	return deployment.spec?.template.spec?.containers ?? [];
}

function podLabels(deployment: Deployment): Record<string, string> {
	return deployment.spec?.template.metadata?.labels ?? {};
}

function selects(matchLabels: Record<string, string> | undefined, labels: Record<string, string>): boolean {
	if (!matchLabels || !Object.keys(matchLabels).length) return false;
	return Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
}

/** The environment a container would start with, as far as the manifests tell (secrets are unknown). */
function containerEnvironment(container: IContainer, overlay: RenderedOverlay): { env: Record<string, string>; fromSecrets: Set<string> } {
	const env: Record<string, string> = {};
	const fromSecrets = new Set<string>();
	for (const source of container.envFrom ?? []) {
		if (source.configMapRef) Object.assign(env, overlay.configMaps.find(cm => cm.metadata?.name === source.configMapRef?.name)?.data ?? {});
		if (source.secretRef) throw new Error("envFrom secretRef: list secret keys explicitly so the contract stays visible");
	}
	for (const variable of container.env ?? []) {
		if (variable.value !== undefined) env[variable.name] = variable.value;
		else if (variable.valueFrom?.configMapKeyRef) {
			const ref = variable.valueFrom.configMapKeyRef;
			const value = overlay.configMaps.find(cm => cm.metadata?.name === ref.name)?.data?.[ref.key];
			if (value !== undefined) env[variable.name] = value;
		} else if (variable.valueFrom?.secretKeyRef) {
			fromSecrets.add(variable.name);
			delete env[variable.name];
		}
	}
	return { env, fromSecrets };
}

function resolveContainerPort(port: number | string, container: IContainer): number {
	if (typeof port === "number") return port;
	const named = (container.ports ?? []).find(p => p.name === port);
	if (!named) throw new Error(`container "${container.name}" declares no port named "${port}"`);
	return named.containerPort;
}

/** Kubernetes quantities as numbers (cores, bytes), enough to compare requests with limits. */
function parseQuantity(quantity: string | number): number {
	const match = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(quantity));
	if (!match) throw new Error(`unsupported quantity "${quantity}"`);
	const factor = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 }[match[2] ?? ""] as number;
	return Number(match[1]) * factor;
}

/** Seconds a preStop hook holds the pod before SIGTERM; only the forms used here are understood. */
function preStopSeconds(container: IContainer): number {
	const preStop = container.lifecycle?.preStop;
	if (!preStop) return 0;
	if (preStop.sleep) return preStop.sleep.seconds;
	const command = preStop.exec?.command ?? [];
	if (command.length === 2 && command[0] === "sleep" && /^\d+$/.test(command[1])) return Number(command[1]);
	throw new Error(`container "${container.name}": preStop hook ${JSON.stringify(preStop)} is not understood by the test`);
}

/** Config problems that only the secret manager's values can fix are expected; any other is a bug. */
function expectConfigAccepted(environment: Record<string, string>, suppliedElsewhere: Set<string>, where: string): void {
	try {
		loadConfig(environment);
	} catch (err) {
		if (!(err instanceof ConfigError)) throw err;
		const problems = Object.entries(err.problems).filter(([name]) => !suppliedElsewhere.has(name));
		expect({ where, problems }).toEqual({ where, problems: [] });
	}
}

function findKubectl(): string | undefined {
	try {
		execFileSync("kubectl", ["version", "--client"], { stdio: "ignore", timeout: 15_000 });
		return "kubectl";
	} catch {
		return undefined;
	}
}

function listYamlFiles(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
		const full = path.join(dir, entry.name);
		if (entry.isDirectory()) return listYamlFiles(full);
		return /\.ya?ml$/.test(entry.name) ? [full] : [];
	});
}

// ---------------------------------------------------------------------------------------------------

/** Rendered once per overlay; a render error fails each test that needs it, with the renderer's message. */
const overlayCache = new Map<OverlayName, RenderedOverlay | Error>();
function overlayOf(name: OverlayName): RenderedOverlay {
	if (!overlayCache.has(name)) {
		try {
			overlayCache.set(name, renderOverlay(name));
		} catch (err) {
			overlayCache.set(name, err as Error);
		}
	}
	const result = overlayCache.get(name) as RenderedOverlay | Error;
	if (result instanceof Error) throw result;
	return result;
}

describe("k8s/ (kustomize)", () => {
	test("every YAML file under k8s/ parses and is read by some overlay's build", () => {
		const files = listYamlFiles(K8S_DIR);
		expect(files.length).toBeGreaterThan(0);
		for (const file of files) expect(() => readYamlDocuments(file)).not.toThrow();
		const read = new Set(OVERLAYS.flatMap(name => [...overlayOf(name).render.filesRead]));
		// A file no build reads is a patch or resource someone forgot to list: it would never be deployed.
		expect(files.filter(file => !read.has(file)).map(file => path.relative(ROOT, file))).toEqual([]);
	});

	test("the base is namespace-agnostic", () => {
		const base = renderKustomization(BASE_DIR);
		expect(base.kustomization.namespace).toBeUndefined();
		expect([...base.objects, ...base.localConfig].filter(obj => obj.metadata.namespace !== undefined).map(resourceId)).toEqual([]);
	});

	const kubectl = findKubectl();

	describe.each(OVERLAYS)("overlay %s", name => {
		let overlay: RenderedOverlay;
		beforeEach(() => {
			overlay = overlayOf(name);
		});

		test("renders only kinds with a schema, and every object passes it", () => {
			// overlayOf() rendered and validated; this states what was rendered so a lost resource shows.
			const kinds = overlay.render.objects.map(obj => `${obj.kind}/${obj.metadata.name}`).sort();
			expect(kinds).toEqual(
				expect.arrayContaining([
					"ConfigMap/lootopia-config",
					"Deployment/api",
					"Deployment/core",
					"HorizontalPodAutoscaler/api",
					"HorizontalPodAutoscaler/core",
					"PodDisruptionBudget/api",
					"PodDisruptionBudget/core",
					"Service/api",
				]),
			);
		});

		test("sets its own namespace on every object", () => {
			const expected = `lootopia-${name}`;
			expect(overlay.render.kustomization.namespace).toBe(expected);
			for (const obj of [...overlay.render.objects, ...overlay.render.localConfig])
				expect({ id: resourceId(obj), namespace: obj.metadata.namespace }).toEqual({ id: resourceId(obj), namespace: expected });
		});

		test("pins every container image to the overlay's registry and tag", () => {
			const images = overlay.render.kustomization.images ?? [];
			expect(images).toHaveLength(1);
			const { newName, newTag } = images[0];
			expect(newTag).toMatch(/^[\w][\w.-]*$/);
			expect(newTag).not.toBe("latest");
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) expect(container.image).toBe(`${newName}:${newTag}`);
			}
		});

		test("never emits a Secret with placeholder values", () => {
			const emitted = overlay.render.objects.filter(obj => obj.kind === "Secret");
			expect(emitted.filter(obj => JSON.stringify(obj).includes("REPLACE_ME")).map(resourceId)).toEqual([]);
			// The template is the contract for secretKeyRefs; it must stay out of `kubectl apply -k`.
			const templates = [...overlay.render.objects, ...overlay.render.localConfig].filter(obj => obj.kind === "Secret" && obj.metadata.name === "lootopia-secrets");
			expect(templates.map(isLocalConfig)).toEqual([true]);
		});

		test("the ConfigMap sets production logging, metrics and transport", () => {
			const config = overlay.configMaps.find(cm => cm.metadata?.name === "lootopia-config")?.data ?? {};
			expect(config).toMatchObject({ NODE_ENV: "production", LOG_FORMAT: "json", METRICS_ENABLED: "true" });
			for (const key of ["CHANNELS_URL", "REDIS_URL", "METRICS_PORT", "LOG_LEVEL"]) expect({ key, value: config[key] ?? "" }).toEqual({ key, value: expect.stringMatching(/.+/) });
			// The transporter URL carries credentials: a secret, never the ConfigMap.
			expect(config.TRANSPORTER).toBeUndefined();
		});

		test("every node group takes its transporter URL, credentials included, from the secret", () => {
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const transporter = (container.env ?? []).find(entry => entry.name === "TRANSPORTER");
					expect({ container: container.name, ref: transporter?.valueFrom?.secretKeyRef?.name }).toEqual({ container: container.name, ref: "lootopia-secrets" });
				}
			}
		});

		test("one Deployment runs the gateway and every node group says which services it runs", () => {
			const gateways = overlay.deployments.filter(deployment =>
				containersOf(deployment).some(c =>
					(containerEnvironment(c, overlay).env.SERVICES ?? "")
						.split(",")
						.map(s => s.trim())
						.includes("api"),
				),
			);
			expect(gateways.map(d => d.metadata?.name)).toEqual(["api"]);
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const { env } = containerEnvironment(container, overlay);
					expect({ container: container.name, SERVICES: env.SERVICES ?? "" }).toEqual({ container: container.name, SERVICES: expect.stringMatching(/\S/) });
					// Nodes without the gateway serve their health endpoints only when HEALTH_PORT is set.
					if (!gateways.includes(deployment)) expect({ container: container.name, healthPortSet: Number(env.HEALTH_PORT ?? 0) > 0 }).toEqual({ container: container.name, healthPortSet: true });
				}
			}
		});

		test("probes hit /health/live and /health/ready on the port the node serves them on", () => {
			expect(overlay.deployments.length).toBeGreaterThan(0);
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const { env } = containerEnvironment(container, overlay);
					const healthPort = Number(env.HEALTH_PORT ?? 0) || Number(env.PORT ?? APP_DEFAULTS.PORT);
					const probes: [string, IProbe | undefined, string][] = [
						["livenessProbe", container.livenessProbe, LIVE_PATH],
						["readinessProbe", container.readinessProbe, READY_PATH],
					];
					if (container.startupProbe) probes.push(["startupProbe", container.startupProbe, LIVE_PATH]);
					for (const [kind, probe, expectedPath] of probes) {
						const where = `${deployment.metadata?.name}/${container.name} ${kind}`;
						expect({ where, path: probe?.httpGet?.path }).toEqual({ where, path: expectedPath });
						expect({ where, port: probe?.httpGet ? resolveContainerPort(probe.httpGet.port, container) : undefined }).toEqual({ where, port: healthPort });
					}
				}
			}
		});

		test("pods run as non-root with a read-only root filesystem and a writable data dir", () => {
			for (const deployment of overlay.deployments) {
				const pod = deployment.spec?.template.spec;
				expect(pod?.securityContext?.runAsNonRoot).toBe(true);
				expect(pod?.securityContext?.runAsUser).not.toBe(0);
				expect(pod?.automountServiceAccountToken).toBe(false);
				for (const container of containersOf(deployment)) {
					const where = `${deployment.metadata?.name}/${container.name}`;
					const security = container.securityContext ?? {};
					// A container-level setting would override the pod's.
					expect({ where, runAsNonRoot: security.runAsNonRoot ?? true, rootUser: security.runAsUser === 0 }).toEqual({ where, runAsNonRoot: true, rootUser: false });
					expect({ where, allowPrivilegeEscalation: security.allowPrivilegeEscalation, readOnlyRootFilesystem: security.readOnlyRootFilesystem }).toEqual({
						where,
						allowPrivilegeEscalation: false,
						readOnlyRootFilesystem: true,
					});
					const dataDir = containerEnvironment(container, overlay).env.DATA_DIR ?? APP_DEFAULTS.DATA_DIR;
					const mount = container.volumeMounts?.find(m => m.mountPath === dataDir);
					const volume = pod?.volumes?.find(v => v.name === mount?.name);
					expect({ where, dataDirVolume: volume?.emptyDir !== undefined }).toEqual({ where, dataDirVolume: true });
				}
			}
		});

		test("containers request and limit CPU and memory, requests within limits", () => {
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const where = `${deployment.metadata?.name}/${container.name}`;
					const { requests = {}, limits = {} } = container.resources ?? {};
					for (const resource of ["cpu", "memory"]) {
						expect({ where, resource, request: requests[resource] !== undefined, limit: limits[resource] !== undefined }).toEqual({ where, resource, request: true, limit: true });
						expect(parseQuantity(requests[resource])).toBeLessThanOrEqual(parseQuantity(limits[resource]));
					}
				}
			}
		});

		test("the termination grace period covers preStop plus the app's shutdown drain", () => {
			for (const deployment of overlay.deployments) {
				const grace = deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30;
				for (const container of containersOf(deployment)) {
					const drainMs = Number(containerEnvironment(container, overlay).env.SHUTDOWN_TIMEOUT_MS ?? APP_DEFAULTS.SHUTDOWN_TIMEOUT_MS);
					expect(grace).toBeGreaterThan(preStopSeconds(container) + drainMs / 1000);
				}
			}
		});

		test("metrics are enabled and exposed on the port Prometheus is told about", () => {
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const { env } = containerEnvironment(container, overlay);
					expect(env.METRICS_ENABLED).toBe("true");
					const metricsPort = resolveContainerPort("metrics", container);
					expect(metricsPort).toBe(Number(env.METRICS_PORT));
					expect(deployment.spec?.template.metadata?.annotations?.["prometheus.io/port"]).toBe(String(metricsPort));
				}
			}
		});

		test("every configMapKeyRef, secretKeyRef and envFrom points at an existing key", () => {
			const missing: string[] = [];
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const where = `${deployment.metadata?.name}/${container.name}`;
					for (const source of container.envFrom ?? []) {
						if (source.configMapRef && !overlay.configMaps.some(cm => cm.metadata?.name === source.configMapRef?.name)) missing.push(`${where} envFrom ConfigMap ${source.configMapRef.name}`);
					}
					for (const variable of container.env ?? []) {
						const cmRef = variable.valueFrom?.configMapKeyRef;
						if (cmRef && overlay.configMaps.find(cm => cm.metadata?.name === cmRef.name)?.data?.[cmRef.key] === undefined)
							missing.push(`${where} ${variable.name} -> ConfigMap ${cmRef.name}.${cmRef.key}`);
						const secretRef = variable.valueFrom?.secretKeyRef;
						if (secretRef) {
							const secret = overlay.secrets.find(s => s.metadata?.name === secretRef.name);
							const keys = new Set([...Object.keys(secret?.data ?? {}), ...Object.keys(secret?.stringData ?? {})]);
							if (!keys.has(secretRef.key)) missing.push(`${where} ${variable.name} -> Secret ${secretRef.name}.${secretRef.key}`);
						}
					}
				}
			}
			expect(missing).toEqual([]);
		});

		test("the app's config loader accepts every container's environment", () => {
			for (const deployment of overlay.deployments) {
				for (const container of containersOf(deployment)) {
					const { env, fromSecrets } = containerEnvironment(container, overlay);
					expectConfigAccepted(env, fromSecrets, `${name} ${deployment.metadata?.name}/${container.name}`);
				}
			}
		});

		test("each HPA scales an existing Deployment that leaves the replica count to it", () => {
			expect(overlay.hpas.length).toBe(overlay.deployments.length);
			for (const hpa of overlay.hpas) {
				const ref = hpa.spec?.scaleTargetRef;
				const target = overlay.deployments.find(d => ref?.kind === "Deployment" && ref.apiVersion === "apps/v1" && d.metadata?.name === ref.name);
				expect({ hpa: hpa.metadata?.name, target: target?.metadata?.name }).toEqual({ hpa: hpa.metadata?.name, target: ref?.name });
				if (!target) continue;
				// A replicas field would reset the HPA's choice on every apply.
				expect(target.spec?.replicas).toBeUndefined();
				const min = hpa.spec?.minReplicas ?? 1;
				expect(min).toBeGreaterThanOrEqual(1);
				expect(hpa.spec?.maxReplicas).toBeGreaterThanOrEqual(min);
				// CPU utilization is a percentage of the request: without one the HPA cannot compute it.
				if (hpa.spec?.metrics?.some(m => m.type === "Resource" && m.resource?.name === "cpu")) {
					for (const container of containersOf(target)) expect(container.resources?.requests?.cpu).toBeDefined();
				}
			}
		});

		test("each PodDisruptionBudget selects exactly one Deployment's pods and never blocks every eviction", () => {
			expect(overlay.pdbs.length).toBe(overlay.deployments.length);
			for (const pdb of overlay.pdbs) {
				const targets = overlay.deployments.filter(d => selects(pdb.spec?.selector?.matchLabels, podLabels(d)));
				expect({ pdb: pdb.metadata?.name, targets: targets.map(d => d.metadata?.name) }).toEqual({ pdb: pdb.metadata?.name, targets: [pdb.metadata?.name] });
				expect(pdb.spec?.selector?.matchExpressions).toBeUndefined();
				const hpa = overlay.hpas.find(h => h.spec?.scaleTargetRef.name === targets[0]?.metadata?.name);
				const { maxUnavailable, minAvailable } = pdb.spec ?? {};
				if (maxUnavailable !== undefined) expect(typeof maxUnavailable === "number" ? maxUnavailable : parseInt(maxUnavailable, 10)).toBeGreaterThanOrEqual(1);
				else if (typeof minAvailable === "number") expect(minAvailable).toBeLessThan(hpa?.spec?.minReplicas ?? 1);
				else throw new Error(`PDB ${pdb.metadata?.name}: percentage minAvailable is not checked by this test`);
			}
		});

		test("each Service selects exactly one Deployment and targets ports it declares", () => {
			for (const service of overlay.services) {
				const targets = overlay.deployments.filter(d => selects(service.spec?.selector, podLabels(d)));
				expect({ service: service.metadata?.name, targets: targets.length }).toEqual({ service: service.metadata?.name, targets: 1 });
				for (const port of service.spec?.ports ?? []) {
					const targetPort = port.targetPort ?? port.port;
					const declared = containersOf(targets[0]).some(c => (c.ports ?? []).some(p => p.name === targetPort || p.containerPort === targetPort));
					expect({ service: service.metadata?.name, targetPort, declared }).toEqual({ service: service.metadata?.name, targetPort, declared: true });
				}
			}
			const api = overlay.services.find(s => s.metadata?.name === "api");
			const http = api?.spec?.ports?.find(p => p.port === 80);
			expect(http && resolveContainerPort(http.targetPort ?? 80, containersOf(overlay.deployments.find(d => d.metadata?.name === "api") as Deployment)[0])).toBe(APP_DEFAULTS.PORT);
		});

		(kubectl ? test : test.skip)(`matches \`kubectl kustomize\`${kubectl ? "" : " (skipped: kubectl not on PATH)"}`, () => {
			const output = execFileSync(kubectl as string, ["kustomize", path.join(K8S_DIR, "overlays", name)], { encoding: "utf8", timeout: 60_000 });
			const theirs = parseAllDocuments(output).map(doc => doc.toJS() as Manifest);
			const byId = (objects: Manifest[]) => Object.fromEntries(objects.map(obj => [resourceId(obj), obj]));
			expect(byId(overlay.render.objects)).toEqual(byId(theirs));
		});
	});

	test("production runs more replicas than dev, and environments use distinct Moleculer namespaces", () => {
		const minReplicas = (overlay: RenderedOverlay, group: string) => overlay.hpas.find(h => h.metadata?.name === group)?.spec?.minReplicas ?? 1;
		for (const group of ["api", "core"]) expect(minReplicas(overlayOf("prod"), group)).toBeGreaterThan(minReplicas(overlayOf("dev"), group));
		// At least two gateway pods so a node failure or rollout never takes the API down.
		expect(minReplicas(overlayOf("prod"), "api")).toBeGreaterThanOrEqual(2);
		const namespaces = OVERLAYS.map(name => overlayOf(name).configMaps.find(cm => cm.metadata?.name === "lootopia-config")?.data?.NAMESPACE);
		expect(new Set(namespaces).size).toBe(OVERLAYS.length);
	});

	describe("the test's own renderer and validator", () => {
		test("an object of an unregistered kind fails instead of being skipped", () => {
			expect(() => toValidatedModel({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } })).toThrow(/no kubernetes-models class/);
		});

		test("an object that breaks the schema fails", () => {
			const broken: Manifest = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: { ports: [{ port: "eighty" }] } };
			expect(() => toValidatedModel(broken)).toThrow(/fails the Kubernetes schema/);
		});

		test("strategic merge merges containers and env by name and replaces scalars", () => {
			const base: JsonValue = {
				spec: {
					template: {
						spec: {
							containers: [
								{
									name: "a",
									image: "x",
									env: [
										{ name: "K", value: "1" },
										{ name: "L", value: "2" },
									],
								},
								{ name: "b", image: "y" },
							],
						},
					},
				},
			};
			const patch: JsonValue = { spec: { template: { spec: { containers: [{ name: "a", env: [{ name: "K", value: "9" }] }] } } } };
			expect(strategicMerge(base, patch, "Deployment")).toEqual({
				spec: {
					template: {
						spec: {
							containers: [
								{
									name: "a",
									image: "x",
									env: [
										{ name: "K", value: "9" },
										{ name: "L", value: "2" },
									],
								},
								{ name: "b", image: "y" },
							],
						},
					},
				},
			});
			expect(() => strategicMerge({ spec: { tolerations: [] } }, { spec: { tolerations: [{ key: "k" }] } }, "Deployment")).toThrow(/merge strategy unknown/);
		});

		test("JSON patch refuses to replace a missing path", () => {
			expect(applyJsonPatch({ spec: { minReplicas: 1 } }, [{ op: "replace", path: "/spec/minReplicas", value: 3 }])).toEqual({ spec: { minReplicas: 3 } });
			expect(() => applyJsonPatch({ spec: {} }, [{ op: "replace", path: "/spec/minReplicas", value: 3 }])).toThrow(/does not exist/);
		});

		test("image references split into name, tag and digest", () => {
			expect(splitImage("registry:5000/team/app:1.2")).toEqual({ name: "registry:5000/team/app", tag: "1.2", digest: undefined });
			expect(splitImage("registry:5000/team/app")).toEqual({ name: "registry:5000/team/app", digest: undefined });
		});
	});
});

// ---------------------------------------------------------------------------------------------------

describe("docker-compose.yml", () => {
	const composeText = fs.readFileSync(path.join(ROOT, "docker-compose.yml"), "utf8");
	// Compose resolves YAML merge keys (<<), which the file uses for the shared node-group settings.
	const compose = parseYaml(composeText, { merge: true }) as { services: Record<string, ComposeService> };
	const services = compose.services;
	// One-shot jobs (restart "no") built from our image prepare something for the nodes, e.g. keys.
	const isJob = (service: ComposeService) => service.build !== undefined && service.restart === "no";
	const jobs = Object.entries(services).filter(([, service]) => isJob(service));
	const platformNodes = Object.entries(services).filter(([, service]) => service.build !== undefined && !isJob(service));
	const infrastructure = Object.entries(services).filter(([, service]) => service.build === undefined);

	interface ComposeService {
		image?: string;
		build?: unknown;
		restart?: string;
		command?: string[] | string;
		environment?: Record<string, string | number | boolean | null> | string[];
		depends_on?: Record<string, { condition?: string }> | string[];
		healthcheck?: { test?: string[] | string; disable?: boolean };
		ports?: (string | { target: number; published?: string | number })[];
		stop_grace_period?: string;
	}

	function environmentOf(service: ComposeService): Record<string, string> {
		const env = service.environment ?? {};
		if (Array.isArray(env)) return Object.fromEntries(env.map(entry => [entry.split("=")[0], entry.slice(entry.indexOf("=") + 1)]));
		return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, value === null ? "" : String(value)]));
	}

	function durationSeconds(value: string): number {
		const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value);
		if (!match) throw new Error(`unsupported duration "${value}"`);
		return Number(match[1]) * { ms: 0.001, s: 1, m: 60 }[match[2] as "ms" | "s" | "m"];
	}

	function composeSchemaValidator() {
		// dclint ships the Compose Specification schema; its package exports hide the file, so read it by path.
		const schemaFile = path.join(path.dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json");
		const schema = JSON.parse(fs.readFileSync(schemaFile, "utf8")) as Record<string, unknown>;
		// Its $schema URI is not one Ajv registers by name; the document is plain draft-07.
		delete schema.$schema;
		return new Ajv({ allErrors: true, strict: false }).compile(schema);
	}

	test("parses without YAML errors", () => {
		const docs = parseAllDocuments(composeText);
		expect(docs.flatMap(doc => doc.errors.map(e => e.message))).toEqual([]);
	});

	test("conforms to the Compose Specification schema", () => {
		const validate = composeSchemaValidator();
		const valid = validate(compose);
		expect(validate.errors ?? []).toEqual([]);
		expect(valid).toBe(true);
		// The schema forbids unknown service keys, so a typo like "helthcheck" cannot slip through.
		expect(validate({ services: { x: { image: "a", helthcheck: {} } } })).toBe(false);
	});

	test("runs the infrastructure the platform uses and two node groups", () => {
		expect(Object.keys(services).sort()).toEqual(expect.arrayContaining(["api", "core", "kafka", "nats", "neo4j", "opensearch", "postgres", "redis"]));
		expect(platformNodes.map(([name]) => name)).toEqual(expect.arrayContaining(["api", "core"]));
	});

	test("every service names a tagged image or a build", () => {
		for (const [name, service] of Object.entries(services)) {
			expect({ name, source: service.image !== undefined || service.build !== undefined }).toEqual({ name, source: true });
			if (service.image) {
				const { tag } = splitImage(service.image);
				expect({ name, tag }).toEqual({ name, tag: expect.stringMatching(/^(?!latest$).+/) });
			}
		}
	});

	test("infrastructure has healthchecks and depends_on waits only on services that have one", () => {
		for (const [name, service] of infrastructure) expect({ name, healthcheck: Boolean(service.healthcheck?.test) && !service.healthcheck?.disable }).toEqual({ name, healthcheck: true });
		for (const [name, service] of Object.entries(services)) {
			const dependsOn = service.depends_on ?? {};
			const entries: [string, { condition?: string }][] = Array.isArray(dependsOn) ? dependsOn.map(dep => [dep, {}]) : Object.entries(dependsOn);
			for (const [dependency, options] of entries) {
				expect({ name, dependency, exists: dependency in services }).toEqual({ name, dependency, exists: true });
				if (options.condition === "service_healthy") expect({ name, dependency, healthcheck: Boolean(services[dependency]?.healthcheck) }).toEqual({ name, dependency, healthcheck: true });
			}
		}
		// Platform nodes start only once every backend is healthy: a node that starts early crash-loops.
		// Jobs they wait for must have finished successfully.
		for (const [name, service] of platformNodes) {
			const dependsOn = (service.depends_on ?? {}) as Record<string, { condition?: string }>;
			const waitsFor = Object.keys(dependsOn).filter(dependency => !jobs.some(([job]) => job === dependency));
			expect({ name, waitsFor: waitsFor.sort() }).toEqual({ name, waitsFor: infrastructure.map(([infra]) => infra).sort() });
			for (const [dependency, options] of Object.entries(dependsOn)) {
				expect({ name, dependency, condition: options.condition }).toEqual({
					name,
					dependency,
					condition: jobs.some(([job]) => job === dependency) ? "service_completed_successfully" : "service_healthy",
				});
			}
		}
	});

	test("platform nodes are configured for the cluster and the app's config loader accepts them", () => {
		for (const [name, service] of platformNodes) {
			const env = environmentOf(service);
			expect({ name, env }).toMatchObject({
				name,
				env: {
					TRANSPORTER: "nats://lootopia:lootopia-dev-nats@nats:4222",
					DATABASE_URL: "postgres://lootopia:lootopia@postgres:5432/lootopia",
					REDIS_URL: "redis://redis:6379",
					CHANNELS_URL: "kafka://kafka:9092",
					NEO4J_URL: "bolt://neo4j:7687",
					OPENSEARCH_URL: "http://opensearch:9200",
					NODE_ENV: "production",
					LOG_FORMAT: "json",
					METRICS_ENABLED: "true",
					SERVICES: expect.stringMatching(/\S/),
				},
			});
			// Every backend URL must name a service of this file, or the node cannot resolve it.
			for (const key of ["TRANSPORTER", "DATABASE_URL", "REDIS_URL", "CHANNELS_URL", "NEO4J_URL", "OPENSEARCH_URL"]) {
				expect({ name, key, host: new URL(env[key]).hostname in services }).toEqual({ name, key, host: true });
			}
			expectConfigAccepted(env, new Set(), `compose ${name}`);
		}
	});

	test("the transporter URL carries the credentials nats requires", () => {
		const command = services.nats.command as string[];
		const flag = (name: string) => command[command.indexOf(name) + 1];
		expect(command).toEqual(expect.arrayContaining(["--user", "--pass"]));
		for (const [, service] of platformNodes) {
			const url = new URL(environmentOf(service).TRANSPORTER);
			expect({ user: url.username, password: url.password }).toEqual({ user: flag("--user"), password: flag("--pass") });
		}
	});

	test("the database URL matches the credentials postgres is started with", () => {
		const pg = environmentOf(services.postgres);
		for (const [, service] of platformNodes) {
			const url = new URL(environmentOf(service).DATABASE_URL);
			expect({ user: url.username, password: url.password, db: url.pathname.slice(1) }).toEqual({ user: pg.POSTGRES_USER, password: pg.POSTGRES_PASSWORD, db: pg.POSTGRES_DB });
		}
	});

	test("only the gateway group publishes HTTP; the others serve health on HEALTH_PORT", () => {
		for (const [name, service] of platformNodes) {
			const env = environmentOf(service);
			const runsGateway = env.SERVICES.split(",")
				.map(s => s.trim())
				.includes("api");
			const published = (service.ports ?? []).map(port => (typeof port === "string" ? port : `${port.published}:${port.target}`));
			if (runsGateway) expect({ name, published }).toEqual({ name, published: ["3000:3000"] });
			else expect({ name, HEALTH_PORT: Number(env.HEALTH_PORT ?? 0) > 0 }).toEqual({ name, HEALTH_PORT: true });
		}
		expect(platformNodes.filter(([, service]) => environmentOf(service).SERVICES.split(",").includes("api")).map(([name]) => name)).toEqual(["api"]);
	});

	test("platform nodes get longer than the app's shutdown drain to stop", () => {
		for (const [name, service] of platformNodes) {
			const drainSeconds = Number(environmentOf(service).SHUTDOWN_TIMEOUT_MS ?? APP_DEFAULTS.SHUTDOWN_TIMEOUT_MS) / 1000;
			// Docker's default is 10 s, exactly the drain: the node would be killed mid-drain.
			expect({ name, grace: durationSeconds(service.stop_grace_period ?? "10s") > drainSeconds }).toEqual({ name, grace: true });
		}
	});

	test("backends run in the modes the platform expects", () => {
		const command = services.nats.command;
		expect(Array.isArray(command) ? command : String(command).split(/\s+/)).toEqual(expect.arrayContaining(["-js"]));
		const kafka = environmentOf(services.kafka);
		expect(kafka.KAFKA_PROCESS_ROLES?.split(",")).toEqual(expect.arrayContaining(["broker", "controller"]));
		expect(Object.keys(services).filter(name => /zookeeper/i.test(name) || /zookeeper/i.test(services[name].image ?? ""))).toEqual([]);
		expect(Object.keys(kafka).filter(key => /ZOOKEEPER/.test(key))).toEqual([]);
		const opensearch = environmentOf(services.opensearch);
		expect(opensearch).toMatchObject({ "discovery.type": "single-node", DISABLE_SECURITY_PLUGIN: "true" });
		expect(services.postgres.image).toMatch(/^postgres:17/);
	});
});

// ---------------------------------------------------------------------------------------------------

describe("Dockerfile", () => {
	const dockerfile = DockerfileParser.parse(fs.readFileSync(path.join(ROOT, "Dockerfile"), "utf8"));
	const stages: { from: From; instructions: Instruction[] }[] = [];
	for (const instruction of dockerfile.getInstructions()) {
		if (instruction instanceof From) stages.push({ from: instruction, instructions: [] });
		else stages.at(-1)?.instructions.push(instruction);
	}
	const finalStage = stages.at(-1);
	const inFinal = (keyword: string) => (finalStage?.instructions ?? []).filter(i => i.getKeyword() === keyword);
	const runCommands = (stage: (typeof stages)[number]) =>
		stage.instructions.filter(i => i.getKeyword() === "RUN").flatMap(i => (i.getArgumentsContent() ?? "").split(/&&|;/).map(part => part.trim().split(/\s+/)));

	function healthcheckCommand(): string[] {
		const [healthcheck] = inFinal("HEALTHCHECK") as Healthcheck[];
		if (!healthcheck) throw new Error("the final stage has no HEALTHCHECK");
		expect(healthcheck.getSubcommand()?.getValue()).toBe("CMD");
		const content = (healthcheck.getArgumentsContent() ?? "").replace(/^CMD\s+/, "");
		// Exec form (JSON): no shell needed in the image and no quoting surprises.
		return JSON.parse(content) as string[];
	}

	/** Runs the image's healthcheck command against a local server, as Docker would inside the container. */
	async function runHealthcheck(status: number, env: Record<string, string>, portVariable: "HEALTH_PORT" | "PORT"): Promise<{ exitCode: number | null; paths: string[] }> {
		const paths: string[] = [];
		const server = http.createServer((req, res) => {
			paths.push(req.url ?? "");
			res.writeHead(status).end();
		});
		await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
		const port = (server.address() as AddressInfo).port;
		try {
			const [command, ...args] = healthcheckCommand();
			// The image's `node` is Node 24; the one running this test is the project's pinned Node 24.
			const executable = command === "node" ? process.execPath : command;
			const child = spawn(executable, args, { env: { PATH: process.env.PATH ?? "", ...env, [portVariable]: String(port) }, stdio: "ignore" });
			const exitCode = await new Promise<number | null>(resolve => child.on("exit", code => resolve(code)));
			return { exitCode, paths };
		} finally {
			await new Promise(resolve => server.close(resolve));
		}
	}

	test("has a build stage and a final stage on the official Node 24 image", () => {
		expect(stages.length).toBeGreaterThanOrEqual(2);
		expect(finalStage?.from.getImageName()).toBe("node");
		expect(finalStage?.from.getImageTag()).toMatch(/^24(\b|-|\.)/);
	});

	test("compiles in an earlier stage and installs only production dependencies in the final one", () => {
		const buildStages = stages.slice(0, -1);
		const buildCommands = buildStages.flatMap(runCommands).map(words => words.join(" "));
		expect(buildCommands).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), "npm run build"]));
		const finalInstalls = runCommands(finalStage as (typeof stages)[number]).filter(words => words[0] === "npm" && words[1] === "ci");
		expect(finalInstalls).toHaveLength(1);
		expect(finalInstalls[0]).toContain("--omit=dev");
		const copiesFromStages = (inFinal("COPY") as Copy[]).filter(copy => copy.getFromFlag());
		const stageNames = buildStages.map(stage => stage.from.getBuildStage());
		expect(copiesFromStages.map(copy => copy.getFromFlag()?.getValue()).every(name => stageNames.includes(name ?? null))).toBe(true);
		expect(copiesFromStages.flatMap(copy => copy.getArguments().map(a => a.getValue()))).toEqual(expect.arrayContaining(["/app/dist"]));
		// node_modules from the build stage would carry the devDependencies (and their Node binary) along.
		expect(copiesFromStages.flatMap(copy => copy.getArguments().map(a => a.getValue())).filter(source => source.includes("node_modules"))).toEqual([]);
	});

	test("runs in production mode as a non-root numeric user matching the pods' runAsUser", () => {
		const env = Object.fromEntries((inFinal("ENV") as Env[]).flatMap(e => e.getProperties().map(p => [p.getName(), p.getValue()])));
		expect(env.NODE_ENV).toBe("production");
		const users = inFinal("USER").map(u => (u.getArgumentsContent() ?? "").trim());
		expect(users.length).toBeGreaterThan(0);
		const [user] = (users.at(-1) as string).split(":");
		expect(["root", "0"]).not.toContain(user);
		expect(user).toMatch(/^\d+$/);
		for (const overlay of OVERLAYS) {
			for (const deployment of overlayOf(overlay).deployments) expect(deployment.spec?.template.spec?.securityContext?.runAsUser).toBe(Number(user));
		}
	});

	test("starts the compiled entry point that `npm start` runs", () => {
		const [cmd] = inFinal("CMD") as Cmd[];
		expect(cmd).toBeDefined();
		const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
		expect(cmd.getJSONStrings().map(s => s.getJSONValue())).toEqual(pkg.scripts.start.split(/\s+/));
	});

	test("exposes the ports the manifests use", () => {
		const exposed = inFinal("EXPOSE").flatMap(e => e.getArguments().map(a => Number(a.getValue().split("/")[0])));
		const used = new Set<number>();
		for (const overlay of OVERLAYS) {
			for (const deployment of overlayOf(overlay).deployments) for (const container of containersOf(deployment)) for (const port of container.ports ?? []) used.add(port.containerPort);
		}
		expect(exposed.sort()).toEqual(expect.arrayContaining([...used].sort()));
	});

	test("the HEALTHCHECK probes /health/live on HEALTH_PORT, and fails when the node is not live", async () => {
		const healthy = await runHealthcheck(200, {}, "HEALTH_PORT");
		expect(healthy).toEqual({ exitCode: 0, paths: [LIVE_PATH] });
		const unhealthy = await runHealthcheck(503, {}, "HEALTH_PORT");
		expect(unhealthy.exitCode).not.toBe(0);
		// The gateway group sets no HEALTH_PORT: its health endpoints live on the HTTP port.
		const gateway = await runHealthcheck(200, {}, "PORT");
		expect(gateway).toEqual({ exitCode: 0, paths: [LIVE_PATH] });
	});

	test(".dockerignore keeps local state and secrets out of the build context", () => {
		const ignored = fs
			.readFileSync(path.join(ROOT, ".dockerignore"), "utf8")
			.split("\n")
			.map(line => line.trim())
			.filter(line => line && !line.startsWith("#"));
		expect(ignored).toEqual(expect.arrayContaining(["node_modules", "dist", "data", "coverage", ".git", "bench/results", ".env"]));
	});
});
