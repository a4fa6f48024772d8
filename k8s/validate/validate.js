#!/usr/bin/env node
// validate.js: offline validation of the rendered Kubernetes manifests.
//
//   node validate.js NAME=RENDERED.yaml [NAME=RENDERED.yaml ...]
//
// 1. Schema: every object against the Kubernetes API schemas of
//    kubernetes-models (compiled ajv validators), and unknown or misspelled
//    fields rejected. The compiled validators ignore unknown properties, so
//    each object is validated through a Proxy that records which properties
//    the validator looked up: a key present in an object the validator
//    inspected, yet never looked up, is a field the schema does not have.
//    (Maps such as labels are enumerated by the validator, so their keys
//    count as looked up; an object the validator never inspects, an
//    untyped one, is not judged.)
// 2. Policy: the hygiene rules below, on every overlay.
// 3. Negative cases: each rule (and the schema check) is run on a copy of a
//    good render broken on purpose, and must report it.
// Prints one summary line; exits 1 on any failure.
"use strict";

const fs = require("fs");
const YAML = require("yaml");
const { crdErrors } = require("./crd.js");

// ------------------------------------------------------------- schema

const groupModules = new Map();

function modelFor(apiVersion, kind) {
	if (typeof apiVersion !== "string" || !/^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion))
		return null;
	let mod = groupModules.get(apiVersion);
	if (mod === undefined) {
		try {
			mod = require(`kubernetes-models/${apiVersion}`);
		} catch (e) {
			mod = null;
		}
		groupModules.set(apiVersion, mod);
	}
	if (mod === null || typeof mod[kind] !== "function")
		return null;
	const m = mod[kind];
	return m.apiVersion === apiVersion && m.kind === kind ? m : null;
}

// A Proxy over data that records, per object, the keys looked up.
function track(value, path, seen) {
	if (value === null || typeof value !== "object")
		return value;
	const st = { path, value, touched: false, keys: new Set() };
	seen.push(st);
	const kids = new Map();
	return new Proxy(value, {
		get(t, k, r) {
			if (typeof k === "string") {
				st.touched = true;
				st.keys.add(k);
				if (Object.prototype.hasOwnProperty.call(t, k)) {
					if (!kids.has(k))
						kids.set(k, track(t[k], `${path}/${k}`, seen));
					return kids.get(k);
				}
			}
			return Reflect.get(t, k, r);
		},
		has(t, k) {
			if (typeof k === "string") {
				st.touched = true;
				st.keys.add(k);
			}
			return Reflect.has(t, k);
		},
		ownKeys(t) {
			st.touched = true;
			return Reflect.ownKeys(t);
		},
	});
}

function objName(o) {
	const md = (o && o.metadata) || {};
	return `${o && o.kind}/${md.name}`;
}

// Errors of one object: schema violations and unknown fields. The
// operators' custom resources go against their CRDs' schemas (crd.js).
function schemaErrors(obj) {
	const ce = crdErrors(obj);
	if (ce !== null)
		return ce.map((e) => `${objName(obj)}: ${e}`);
	const model = modelFor(obj && obj.apiVersion, obj && obj.kind);
	if (model === null)
		return [`${objName(obj)}: unknown apiVersion/kind ${obj && obj.apiVersion} ${obj && obj.kind}`];
	const errs = [];
	const seen = [];
	const proxy = track(obj, "", seen);
	try {
		model.prototype.validate.call(proxy);
	} catch (e) {
		errs.push(`${objName(obj)}: ${e.message}`);
	}
	for (const st of seen) {
		if (!st.touched || Array.isArray(st.value))
			continue;
		for (const k of Object.keys(st.value))
			if (!st.keys.has(k))
				errs.push(`${objName(obj)}: unknown field ${st.path}/${k}`);
	}
	return errs;
}

// ------------------------------------------------------------- helpers

const WORKLOADS = new Set(["Deployment", "StatefulSet", "DaemonSet"]);

function podSpecOf(o) {
	if (WORKLOADS.has(o.kind) || o.kind === "Job")
		return o.spec && o.spec.template && o.spec.template.spec;
	if (o.kind === "CronJob")
		return o.spec.jobTemplate.spec.template.spec;
	return null;
}

function podLabelsOf(o) {
	const t = o.kind === "CronJob" ? o.spec.jobTemplate.spec.template : o.spec && o.spec.template;
	return (t && t.metadata && t.metadata.labels) || {};
}

function allContainers(ps) {
	return [...(ps.initContainers || []), ...(ps.containers || [])];
}

function subset(sel, labels) {
	return Object.entries(sel || {}).every(([k, v]) => labels[k] === v);
}

function matchesSelector(selector, labels) {
	if (!selector)
		return false;
	if (!subset(selector.matchLabels, labels))
		return false;
	for (const e of selector.matchExpressions || []) {
		const has = Object.prototype.hasOwnProperty.call(labels, e.key);
		if (e.operator === "In" && !(has && e.values.includes(labels[e.key])))
			return false;
		if (e.operator === "NotIn" && has && e.values.includes(labels[e.key]))
			return false;
		if (e.operator === "Exists" && !has)
			return false;
		if (e.operator === "DoesNotExist" && has)
			return false;
	}
	return true;
}

function podOwners(objs) {
	return objs.filter((o) => podSpecOf(o) !== null);
}

// The labels of the pods the operators make for their custom resources
// (CloudNativePG instances; the MariaDB operator's StatefulSet pods).
function operatorPodLabels(objs) {
	const l = [];
	for (const o of objs) {
		if (o.apiVersion === "postgresql.cnpg.io/v1" && o.kind === "Cluster")
			l.push({ "cnpg.io/cluster": o.metadata.name, "cnpg.io/podRole": "instance" });
		if (o.apiVersion === "k8s.mariadb.com/v1alpha1" && o.kind === "MariaDB")
			l.push({ "app.kubernetes.io/name": "mariadb", "app.kubernetes.io/instance": o.metadata.name });
	}
	return l;
}

const ofKind = (objs, apiVersion, kind) =>
    objs.filter((o) => o.apiVersion === apiVersion && o.kind === kind);

// Is file path inside a volume of pod spec ps, mounted in container c, made
// from Secret secret's key key alone? Returns an error string or null.
function secretFileError(ps, c, file, secret, key) {
	if (typeof file !== "string")
		return "not set";
	const m = (c.volumeMounts || []).find((x) => file.startsWith(x.mountPath.replace(/\/?$/, "/")));
	const vol = m && (ps.volumes || []).find((x) => x.name === m.name);
	if (!vol || !vol.secret || vol.secret.secretName !== secret)
		return `${file} is not in a volume from Secret ${secret}`;
	const items = vol.secret.items || [];
	const rel = file.slice(m.mountPath.replace(/\/?$/, "/").length);
	if (!items.some((i) => i.key === key && i.path === rel))
		return `${file} is not ${secret}'s key ${key}`;
	if (items.some((i) => i.key !== key))
		return `the volume from ${secret} mounts more than ${key} (${items.map((i) => i.key).join(", ")})`;
	return null;
}

function configMapsOf(objs) {
	const m = new Map();
	for (const o of objs)
		if (o.kind === "ConfigMap")
			m.set(o.metadata.name, o.data || {});
	return m;
}

// The value a container sees for an environment variable, when literal.
function envValue(c, name, cms) {
	for (const e of c.env || [])
		if (e.name === name && e.value !== undefined)
			return e.value;
	for (const ef of c.envFrom || [])
		if (ef.configMapRef && cms.has(ef.configMapRef.name)) {
			const d = cms.get(ef.configMapRef.name);
			if (d[name] !== undefined)
				return d[name];
		}
	return undefined;
}

function preStopSleep(c) {
	const h = c.lifecycle && c.lifecycle.preStop;
	if (!h)
		return null;
	if (h.sleep && typeof h.sleep.seconds === "number")
		return h.sleep.seconds;
	const cmd = h.exec && h.exec.command;
	if (Array.isArray(cmd) && /(^|\/)sleep$/.test(cmd[0]) && /^[0-9]+$/.test(cmd[1] || ""))
		return Number(cmd[1]);
	return null;
}

// Names whose value is a credential: they must come from a Secret. A *_FILE
// variable names a file (a mounted Secret), not a credential.
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS?|DB_URL|DATABASE_URL)$/i;

function secretLooking(name) {
	return SECRET_NAME.test(name) && !/_FILE$/i.test(name);
}

// ------------------------------------------------------------- policies

const POLICIES = {
	"selector-matches-template"(objs) {
		const v = [];
		for (const o of objs.filter((x) => WORKLOADS.has(x.kind))) {
			const sel = o.spec.selector || {};
			if (!sel.matchLabels || Object.keys(sel.matchLabels).length === 0)
				v.push(`${objName(o)}: selector has no matchLabels`);
			else if (!matchesSelector(sel, podLabelsOf(o)))
				v.push(`${objName(o)}: selector does not match the pod template's labels`);
		}
		return v;
	},

	"service-targets-workload"(objs) {
		const v = [];
		const owners = podOwners(objs).filter((o) => o.kind !== "Job");
		for (const s of objs.filter((x) => x.kind === "Service")) {
			const sel = s.spec.selector;
			if (!sel || Object.keys(sel).length === 0) {
				v.push(`${objName(s)}: no selector`);
				continue;
			}
			const hit = owners.filter((o) => subset(sel, podLabelsOf(o)));
			if (hit.length === 0) {
				v.push(`${objName(s)}: selector matches no workload`);
				continue;
			}
			for (const p of s.spec.ports || []) {
				if (typeof p.targetPort !== "string")
					continue;
				const ok = hit.some((o) => allContainers(podSpecOf(o)).some((c) =>
				    (c.ports || []).some((cp) => cp.name === p.targetPort)));
				if (!ok)
					v.push(`${objName(s)}: targetPort ${p.targetPort} is no container port`);
			}
		}
		for (const i of objs.filter((x) => x.kind === "Ingress"))
			for (const r of i.spec.rules || [])
				for (const p of (r.http && r.http.paths) || []) {
					const n = p.backend.service && p.backend.service.name;
					if (!objs.some((x) => x.kind === "Service" && x.metadata.name === n))
						v.push(`${objName(i)}: backend Service ${n} does not exist`);
				}
		return v;
	},

	"pdb-targets-workload"(objs) {
		const v = [];
		const owners = podOwners(objs).filter((o) => o.kind !== "Job");
		for (const p of objs.filter((x) => x.kind === "PodDisruptionBudget"))
			if (!owners.some((o) => matchesSelector(p.spec.selector, podLabelsOf(o))))
				v.push(`${objName(p)}: selector matches no workload`);
		for (const o of objs.filter((x) => x.kind === "Deployment"))
			if (!objs.some((p) => p.kind === "PodDisruptionBudget" &&
			    matchesSelector(p.spec.selector, podLabelsOf(o))))
				v.push(`${objName(o)}: no PodDisruptionBudget`);
		return v;
	},

	"hpa-targets-workload"(objs) {
		const v = [];
		for (const h of objs.filter((x) => x.kind === "HorizontalPodAutoscaler")) {
			const r = h.spec.scaleTargetRef;
			const t = objs.find((o) => o.kind === r.kind && o.metadata.name === r.name &&
			    o.apiVersion === r.apiVersion);
			if (!t) {
				v.push(`${objName(h)}: target ${r.apiVersion} ${r.kind}/${r.name} does not exist`);
				continue;
			}
			if ((h.spec.minReplicas || 1) > h.spec.maxReplicas)
				v.push(`${objName(h)}: minReplicas > maxReplicas`);
			const cpu = (h.spec.metrics || []).some((m) => m.resource && m.resource.name === "cpu");
			if (cpu && !podSpecOf(t).containers.every((c) => c.resources && c.resources.requests &&
			    c.resources.requests.cpu))
				v.push(`${objName(h)}: CPU utilisation target, but ${objName(t)} requests no CPU`);
		}
		return v;
	},

	"probes-present"(objs) {
		const v = [];
		for (const o of objs.filter((x) => WORKLOADS.has(x.kind)))
			for (const c of podSpecOf(o).containers)
				for (const p of ["startupProbe", "livenessProbe", "readinessProbe"])
					if (!c[p])
						v.push(`${objName(o)} container ${c.name}: no ${p}`);
		return v;
	},

	"liveness-differs-from-readiness"(objs) {
		const v = [];
		const handler = (p) => JSON.stringify({ h: p.httpGet, t: p.tcpSocket, e: p.exec, g: p.grpc });
		for (const o of objs.filter((x) => WORKLOADS.has(x.kind)))
			for (const c of podSpecOf(o).containers)
				if (c.livenessProbe && c.readinessProbe &&
				    handler(c.livenessProbe) === handler(c.readinessProbe))
					v.push(`${objName(o)} container ${c.name}: liveness probes the same as readiness`);
		return v;
	},

	"resources-set"(objs) {
		const v = [];
		for (const o of podOwners(objs))
			for (const c of allContainers(podSpecOf(o))) {
				const r = c.resources || {};
				const rq = r.requests || {};
				const lm = r.limits || {};
				if (!rq.cpu || !rq.memory)
					v.push(`${objName(o)} container ${c.name}: no CPU and memory requests`);
				if (!lm.memory)
					v.push(`${objName(o)} container ${c.name}: no memory limit`);
			}
		return v;
	},

	"restricted-security-context"(objs) {
		const v = [];
		for (const o of podOwners(objs)) {
			const ps = podSpecOf(o);
			const psc = ps.securityContext || {};
			const n = objName(o);
			for (const f of ["hostNetwork", "hostPID", "hostIPC"])
				if (ps[f])
					v.push(`${n}: ${f}`);
			if (psc.runAsUser === 0)
				v.push(`${n}: pod runAsUser 0`);
			for (const vol of ps.volumes || [])
				if (vol.hostPath)
					v.push(`${n}: hostPath volume ${vol.name}`);
			for (const c of allContainers(ps)) {
				const sc = c.securityContext || {};
				const cn = `${n} container ${c.name}`;
				const nonRoot = sc.runAsNonRoot !== undefined ? sc.runAsNonRoot : psc.runAsNonRoot;
				const uid = sc.runAsUser !== undefined ? sc.runAsUser : psc.runAsUser;
				const seccomp = (sc.seccompProfile || psc.seccompProfile || {}).type;
				if (nonRoot !== true)
					v.push(`${cn}: runAsNonRoot is not true`);
				if (uid === undefined || uid === 0)
					v.push(`${cn}: runAsUser not set to a non-zero uid`);
				if (sc.allowPrivilegeEscalation !== false)
					v.push(`${cn}: allowPrivilegeEscalation is not false`);
				if (sc.privileged)
					v.push(`${cn}: privileged`);
				const caps = sc.capabilities || {};
				if (!(caps.drop || []).includes("ALL"))
					v.push(`${cn}: capabilities do not drop ALL`);
				if ((caps.add || []).some((x) => x !== "NET_BIND_SERVICE"))
					v.push(`${cn}: adds capabilities`);
				if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
					v.push(`${cn}: seccompProfile is not RuntimeDefault`);
				if (sc.readOnlyRootFilesystem !== true)
					v.push(`${cn}: readOnlyRootFilesystem is not true`);
				else if (!(c.volumeMounts || []).some((m) => m.mountPath === "/tmp" &&
				    (ps.volumes || []).some((vol) => vol.name === m.name && vol.emptyDir)))
					v.push(`${cn}: read-only root without an emptyDir on /tmp`);
			}
		}
		return v;
	},

	"image-pinned"(objs) {
		const v = [];
		for (const o of podOwners(objs))
			for (const c of allContainers(podSpecOf(o))) {
				const img = c.image || "";
				const last = img.split("/").pop();
				if (/@sha256:[0-9a-f]{64}$/.test(img))
					continue;
				if (!last.includes(":"))
					v.push(`${objName(o)} container ${c.name}: image ${img} has no tag`);
				else if (/:latest$/.test(last))
					v.push(`${objName(o)} container ${c.name}: image ${img} is :latest`);
			}
		return v;
	},

	"no-literal-secrets"(objs) {
		const v = [];
		const pem = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;
		for (const o of podOwners(objs))
			for (const c of allContainers(podSpecOf(o)))
				for (const e of c.env || []) {
					const cn = `${objName(o)} container ${c.name}`;
					if (typeof e.value === "string" && pem.test(e.value))
						v.push(`${cn}: ${e.name} holds a private key`);
					if (!secretLooking(e.name))
						continue;
					if (!(e.valueFrom && e.valueFrom.secretKeyRef))
						v.push(`${cn}: ${e.name} is not from a Secret (valueFrom.secretKeyRef)`);
				}
		for (const cm of objs.filter((x) => x.kind === "ConfigMap"))
			for (const [k, val] of Object.entries(cm.data || {})) {
				if (secretLooking(k))
					v.push(`${objName(cm)}: ${k} is a credential in a ConfigMap`);
				if (pem.test(val))
					v.push(`${objName(cm)}: ${k} holds a private key`);
			}
		for (const s of objs.filter((x) => x.kind === "Secret"))
			v.push(`${objName(s)}: a Secret is part of the render (create it with kubectl)`);
		return v;
	},

	"networkpolicy-default-deny"(objs) {
		const ok = objs.some((o) => o.kind === "NetworkPolicy" &&
		    Object.keys(o.spec.podSelector || {}).length === 0 &&
		    (o.spec.policyTypes || []).includes("Ingress") &&
		    (o.spec.policyTypes || []).includes("Egress") &&
		    !(o.spec.ingress || []).length && !(o.spec.egress || []).length);
		return ok ? [] : ["no default-deny NetworkPolicy (podSelector {}, Ingress and Egress, no rules)"];
	},

	// Identity events (blog -> pay's internal route on its admin port,
	// 9090): blog pods are allowed out to pay pods on 9090 and pay pods
	// take them in; the edge is never allowed to 9090, so no client can
	// reach the route through it.
	"identity-channel"(objs) {
		const v = [];
		const cms = configMapsOf(objs);
		const dep = (n) => objs.find((o) => o.kind === "Deployment" && o.metadata.name === n);
		const blog = dep("blog-fcgi"), pay = dep("pay-fcgi"), edge = dep("nginx");
		if (!blog || !pay || !edge)
			return ["blog-fcgi, pay-fcgi or nginx Deployment missing"];
		const urls = envValue(podSpecOf(blog).containers[0], "BLOG_IDENTITY_URLS", cms);
		if (!urls || !/^https?:\/\/pay-fcgi(\.[^:/ ]+)?:9090\/internal\/identity$/.test(urls))
			v.push(`blog-fcgi: BLOG_IDENTITY_URLS (${urls}) is not pay-fcgi's admin port 9090 /internal/identity`);
		const pols = objs.filter((x) => x.kind === "NetworkPolicy");
		const portOk = (r, port) => !(r.ports || []).length || r.ports.some((p) => p.port === port);
		// Does some policy of direction dir, selecting self, let peer in/out on port?
		const allows = (dir, self, peer, port) => pols.some((np) =>
		    (np.spec.policyTypes || []).includes(dir) &&
		    matchesSelector(np.spec.podSelector, podLabelsOf(self)) &&
		    (np.spec[dir === "Egress" ? "egress" : "ingress"] || []).some((r) => {
			const peers = r[dir === "Egress" ? "to" : "from"];
			return portOk(r, port) && (!peers || peers.some((x) => !x.namespaceSelector &&
			    !x.ipBlock && matchesSelector(x.podSelector, podLabelsOf(peer))));
		    }));
		if (!allows("Egress", blog, pay, 9090))
			v.push("no NetworkPolicy lets blog-fcgi out to pay-fcgi on 9090 (identity events)");
		if (!allows("Ingress", pay, blog, 9090))
			v.push("no NetworkPolicy lets pay-fcgi take blog-fcgi in on 9090 (identity events)");
		if (allows("Egress", edge, pay, 9090))
			v.push("a NetworkPolicy lets the edge reach pay-fcgi's admin port 9090 (the internal identity route)");
		return v;
	},

	"networkpolicy-selects-pods"(objs) {
		const v = [];
		const pods = [...podOwners(objs).map(podLabelsOf), ...operatorPodLabels(objs)];
		for (const np of objs.filter((x) => x.kind === "NetworkPolicy")) {
			const sels = [np.spec.podSelector];
			for (const r of [...(np.spec.ingress || []), ...(np.spec.egress || [])])
				for (const peer of [...(r.from || []), ...(r.to || [])])
					if (peer.podSelector && !peer.namespaceSelector)
						sels.push(peer.podSelector);
			for (const sel of sels) {
				const empty = !sel || (Object.keys(sel.matchLabels || {}).length === 0 &&
				    (sel.matchExpressions || []).length === 0);
				if (!empty && !pods.some((l) => matchesSelector(sel, l)))
					v.push(`${objName(np)}: pod selector ${JSON.stringify(sel)} matches no pod`);
			}
		}
		return v;
	},

	"service-account-token-off"(objs) {
		const v = [];
		for (const o of podOwners(objs))
			if (podSpecOf(o).automountServiceAccountToken !== false)
				v.push(`${objName(o)}: automountServiceAccountToken is not false`);
		for (const sa of objs.filter((x) => x.kind === "ServiceAccount"))
			if (sa.automountServiceAccountToken !== false)
				v.push(`${objName(sa)}: automountServiceAccountToken is not false`);
		return v;
	},

	"termination-grace"(objs) {
		const v = [];
		const cms = configMapsOf(objs);
		for (const o of objs.filter((x) => x.kind === "Deployment")) {
			const ps = podSpecOf(o);
			const tgp = ps.terminationGracePeriodSeconds === undefined ? 30 : ps.terminationGracePeriodSeconds;
			for (const c of ps.containers) {
				const sleep = preStopSleep(c);
				if (sleep === null) {
					v.push(`${objName(o)} container ${c.name}: no preStop sleep`);
					continue;
				}
				const g = envValue(c, "SHUTDOWN_GRACE_SECONDS", cms);
				const grace = g === undefined ? 20 : Number(g);
				if (!(tgp > sleep + grace))
					v.push(`${objName(o)} container ${c.name}: terminationGracePeriodSeconds ${tgp} <= preStop ${sleep} + shutdown grace ${grace}`);
			}
		}
		return v;
	},

	"configmap-refs-resolve"(objs) {
		const v = [];
		const cms = configMapsOf(objs);
		for (const o of podOwners(objs)) {
			const ps = podSpecOf(o);
			for (const vol of ps.volumes || [])
				if (vol.configMap && !cms.has(vol.configMap.name))
					v.push(`${objName(o)}: volume ${vol.name} names missing ConfigMap ${vol.configMap.name}`);
			for (const c of allContainers(ps)) {
				for (const ef of c.envFrom || [])
					if (ef.configMapRef && !cms.has(ef.configMapRef.name))
						v.push(`${objName(o)} container ${c.name}: envFrom missing ConfigMap ${ef.configMapRef.name}`);
				for (const e of c.env || []) {
					const r = e.valueFrom && e.valueFrom.configMapKeyRef;
					if (r && !(cms.has(r.name) && cms.get(r.name)[r.key] !== undefined))
						v.push(`${objName(o)} container ${c.name}: ${e.name} names missing ${r.name}/${r.key}`);
				}
			}
		}
		return v;
	},

	"metrics-scraped"(objs) {
		const v = [];
		for (const o of objs.filter((x) => x.kind === "Deployment")) {
			const ann = (o.spec.template.metadata && o.spec.template.metadata.annotations) || {};
			for (const c of podSpecOf(o).containers) {
				const admin = (c.ports || []).find((p) => p.name === "admin");
				if (!admin)
					continue;
				if (ann["prometheus.io/scrape"] !== "true" ||
				    ann["prometheus.io/port"] !== String(admin.containerPort) ||
				    ann["prometheus.io/path"] !== "/metrics")
					v.push(`${objName(o)}: admin port ${admin.containerPort} without matching prometheus.io annotations`);
				for (const p of ["livenessProbe", "readinessProbe", "startupProbe"])
					if (!(c[p] && c[p].httpGet && c[p].httpGet.port === "admin"))
						v.push(`${objName(o)} container ${c.name}: ${p} is not an httpGet on the admin port`);
			}
		}
		return v;
	},

	// Issue 18.1: an apply that sets spec.replicas resets the HPA's scale.
	"hpa-owns-replicas"(objs) {
		const v = [];
		for (const h of objs.filter((x) => x.kind === "HorizontalPodAutoscaler")) {
			const r = h.spec.scaleTargetRef;
			const t = objs.find((o) => o.kind === r.kind && o.metadata.name === r.name);
			if (t && t.spec && t.spec.replicas !== undefined)
				v.push(`${objName(t)}: sets spec.replicas, which ${objName(h)} owns`);
		}
		return v;
	},

	// Issue 18.2: with every pod unready (a database outage) a PDB that
	// only counts healthy pods blocks every node drain.
	"pdb-evicts-unhealthy"(objs) {
		return objs.filter((x) => x.kind === "PodDisruptionBudget" &&
		    x.spec.unhealthyPodEvictionPolicy !== "AlwaysAllow")
		    .map((p) => `${objName(p)}: unhealthyPodEvictionPolicy is not AlwaysAllow`);
	},

	// Issue 18.4: spread constraints count cordoned and tainted nodes
	// unless told not to; with DoNotSchedule that keeps pods Pending.
	"spread-honors-taints"(objs) {
		const v = [];
		for (const o of podOwners(objs))
			for (const t of podSpecOf(o).topologySpreadConstraints || [])
				if (t.nodeTaintsPolicy !== "Honor")
					v.push(`${objName(o)}: topologySpreadConstraint on ${t.topologyKey} without nodeTaintsPolicy Honor`);
		return v;
	},

	// Issue 18.5: the edge's worker count comes from the pod's CPU (the
	// downward API), not from "auto", which counts the node's CPUs.
	"edge-workers-from-cpu"(objs) {
		const v = [];
		for (const o of objs.filter((x) => x.kind === "Deployment" &&
		    podLabelsOf(x)["app.kubernetes.io/component"] === "edge"))
			for (const c of podSpecOf(o).containers) {
				const e = (c.env || []).find((x) => x.name === "NGINX_WORKER_PROCESSES");
				const r = e && e.valueFrom && e.valueFrom.resourceFieldRef;
				if (!r || !/^(requests|limits)\.cpu$/.test(r.resource) ||
				    (r.containerName !== undefined && r.containerName !== c.name) ||
				    String(r.divisor) !== "1")
					v.push(`${objName(o)} container ${c.name}: NGINX_WORKER_PROCESSES is not the container's CPU (resourceFieldRef, divisor 1)`);
			}
		return v;
	},

	"spread-across-nodes"(objs) {
		const v = [];
		for (const o of objs.filter((x) => x.kind === "Deployment")) {
			const tsc = podSpecOf(o).topologySpreadConstraints || [];
			const host = tsc.filter((t) => t.topologyKey === "kubernetes.io/hostname");
			if (host.length !== 1)
				v.push(`${objName(o)}: ${host.length} hostname topologySpreadConstraints, want 1`);
			for (const t of tsc)
				if (!matchesSelector(t.labelSelector, podLabelsOf(o)))
					v.push(`${objName(o)}: topologySpreadConstraint on ${t.topologyKey} selects other pods`);
		}
		return v;
	},

	// Issue 11: pay's PostgreSQL under CloudNativePG survives losing its
	// primary with no acknowledged commit lost: three instances, and a
	// commit waits for a standby (synchronous, durability required), with
	// enough standbys that one lost does not stop writes.
	"operator-postgresql-ha"(objs) {
		const v = [];
		for (const c of ofKind(objs, "postgresql.cnpg.io/v1", "Cluster")) {
			const n = objName(c);
			const inst = c.spec.instances;
			if (!(inst >= 3))
				v.push(`${n}: instances ${inst}, want 3 or more`);
			const sync = (c.spec.postgresql || {}).synchronous;
			if (!sync) {
				v.push(`${n}: no synchronous replication (spec.postgresql.synchronous)`);
				continue;
			}
			if (!(sync.number >= 1))
				v.push(`${n}: synchronous.number ${sync.number}, want 1 or more`);
			else if (!(sync.number <= inst - 2))
				v.push(`${n}: synchronous.number ${sync.number} of ${inst - 1} standbys: losing one stops every write`);
			if (sync.dataDurability === "preferred")
				v.push(`${n}: synchronous.dataDurability preferred acknowledges commits no standby has`);
			if (c.spec.minSyncReplicas !== undefined || c.spec.maxSyncReplicas !== undefined)
				v.push(`${n}: minSyncReplicas/maxSyncReplicas (deprecated) beside spec.postgresql.synchronous`);
		}
		return v;
	},

	// Issue 11: the blog's MariaDB under the MariaDB operator is a Galera
	// cluster of an odd number (3+) of nodes, with the primary Service moved
	// by the operator when its node goes.
	"operator-mariadb-galera"(objs) {
		const v = [];
		for (const m of ofKind(objs, "k8s.mariadb.com/v1alpha1", "MariaDB")) {
			const n = objName(m);
			const g = m.spec.galera || {};
			if (g.enabled !== true)
				v.push(`${n}: Galera not enabled`);
			if (m.spec.replication && m.spec.replication.enabled)
				v.push(`${n}: asynchronous replication enabled`);
			if (!(m.spec.replicas >= 3) || m.spec.replicas % 2 !== 1)
				v.push(`${n}: replicas ${m.spec.replicas}, want an odd number, 3 or more (a quorum survives one lost)`);
			if (g.primary && g.primary.autoFailover === false)
				v.push(`${n}: galera.primary.autoFailover off: the primary Service would stay on a dead node`);
		}
		return v;
	},

	// Issue 11: the services reach each database through the operator's
	// primary Service, with TLS verified against the operator's CA, of
	// which only the certificate is mounted.
	"operator-primary-services"(objs) {
		const v = [];
		const cms = configMapsOf(objs);
		const clusters = ofKind(objs, "postgresql.cnpg.io/v1", "Cluster");
		const dbs = ofKind(objs, "k8s.mariadb.com/v1alpha1", "MariaDB");
		const want = [];
		if (clusters.length > 1 || dbs.length > 1)
			v.push("more than one Cluster or MariaDB: which one do the services use?");
		if (clusters.length)
			want.push({ app: "pay-fcgi", host: "PGHOST", hostIs: `${clusters[0].metadata.name}-rw`,
			    tls: "PGSSLMODE", ca: "PGSSLROOTCERT", secret: `${clusters[0].metadata.name}-ca` });
		if (dbs.length) {
			const m = dbs[0];
			want.push({ app: "blog-fcgi", host: "BLOG_DB_HOST", hostIs: `${m.metadata.name}-primary`,
			    tls: "BLOG_DB_TLS", ca: "BLOG_DB_TLS_CA_FILE", secret: `${m.metadata.name}-ca-bundle` });
			if (!(m.spec.tls && m.spec.tls.enabled === true && m.spec.tls.required === true))
				v.push(`${objName(m)}: TLS not enabled and required`);
		}
		for (const w of want)
			for (const o of podOwners(objs).filter((x) => podLabelsOf(x)["app.kubernetes.io/name"] === w.app)) {
				const ps = podSpecOf(o);
				const c = ps.containers[0];
				const n = `${objName(o)} container ${c.name}`;
				const host = envValue(c, w.host, cms);
				if (host !== w.hostIs)
					v.push(`${n}: ${w.host} ${host}, want the primary Service ${w.hostIs}`);
				if (envValue(c, w.tls, cms) !== "verify-full")
					v.push(`${n}: ${w.tls} is not verify-full`);
				const e = secretFileError(ps, c, envValue(c, w.ca, cms), w.secret, "ca.crt");
				if (e)
					v.push(`${n}: ${w.ca}: ${e}`);
			}
		return v;
	},
};

// ------------------------------------------------------------- negative cases

function find(objs, kind, name) {
	const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
	if (!o)
		throw new Error(`negative case needs ${kind}/${name}`);
	return o;
}
const ctr = (objs, name) => podSpecOf(find(objs, "Deployment", name)).containers[0];

// [check, description, mutation, render]; "schema" is the schema check;
// the mutation starts from the render named (default prod).
const OPS = "prod-operators";
const cr = (objs, kind, name) => find(objs, kind, name).spec;
const NEGATIVES = [
	["schema", "misspelled field spec.replica", (o) => {
		find(o, "Deployment", "blog-fcgi").spec.replica = 3;
	}],
	["schema", "misspelled container field imagePullPolcy", (o) => {
		ctr(o, "pay-fcgi").imagePullPolcy = "Always";
	}],
	["schema", "unknown field in a probe", (o) => {
		ctr(o, "nginx").readinessProbe.httpGet.paht = "/";
	}],
	["schema", "replicas as a string", (o) => { find(o, "Deployment", "nginx").spec.replicas = "2"; }],
	["schema", "unknown kind", (o) => { o.push({ apiVersion: "apps/v1", kind: "Deploymnet", metadata: { name: "x" } }); }],
	["selector-matches-template", "pod label renamed", (o) => {
		find(o, "Deployment", "blog-fcgi").spec.template.metadata.labels["app.kubernetes.io/name"] = "blog";
	}],
	["service-targets-workload", "Service selector typo", (o) => {
		find(o, "Service", "pay-fcgi").spec.selector["app.kubernetes.io/name"] = "pay-fcgl";
	}],
	["service-targets-workload", "Service targetPort names no container port", (o) => {
		find(o, "Service", "blog-fcgi").spec.ports[0].targetPort = "fcgi";
	}],
	["service-targets-workload", "Ingress backend Service missing", (o) => {
		find(o, "Ingress", "conduit").spec.rules[0].http.paths[0].backend.service.name = "edge";
	}],
	["pdb-targets-workload", "PDB selector matches nothing", (o) => {
		find(o, "PodDisruptionBudget", "nginx").spec.selector.matchLabels["app.kubernetes.io/name"] = "ngnix";
	}],
	["pdb-targets-workload", "Deployment without a PDB", (o) => {
		o.splice(o.indexOf(find(o, "PodDisruptionBudget", "pay-fcgi")), 1);
	}],
	["hpa-targets-workload", "HPA targets a missing Deployment", (o) => {
		find(o, "HorizontalPodAutoscaler", "blog-fcgi").spec.scaleTargetRef.name = "blog";
	}],
	["hpa-targets-workload", "CPU target without CPU requests", (o) => {
		delete ctr(o, "pay-fcgi").resources.requests.cpu;
	}],
	["probes-present", "readiness probe removed", (o) => { delete ctr(o, "pay-fcgi").readinessProbe; }],
	["probes-present", "startup probe removed", (o) => { delete ctr(o, "nginx").startupProbe; }],
	["liveness-differs-from-readiness", "liveness = readiness (/readyz)", (o) => {
		const c = ctr(o, "blog-fcgi");
		c.livenessProbe.httpGet = { ...c.readinessProbe.httpGet };
	}],
	["resources-set", "memory limit removed", (o) => { delete ctr(o, "nginx").resources.limits; }],
	["resources-set", "Job without requests", (o) => {
		delete podSpecOf(find(o, "Job", "pay-migrate")).containers[0].resources.requests;
	}],
	["restricted-security-context", "allowPrivilegeEscalation true", (o) => {
		ctr(o, "blog-fcgi").securityContext.allowPrivilegeEscalation = true;
	}],
	["restricted-security-context", "capabilities not dropped", (o) => {
		ctr(o, "pay-fcgi").securityContext.capabilities = { drop: ["NET_RAW"] };
	}],
	["restricted-security-context", "writable root filesystem", (o) => {
		ctr(o, "nginx").securityContext.readOnlyRootFilesystem = false;
	}],
	["restricted-security-context", "runs as root", (o) => {
		const d = find(o, "Deployment", "blog-fcgi");
		d.spec.template.spec.securityContext.runAsUser = 0;
		d.spec.template.spec.securityContext.runAsNonRoot = false;
		delete d.spec.template.spec.containers[0].securityContext.runAsUser;
		delete d.spec.template.spec.containers[0].securityContext.runAsNonRoot;
	}],
	["restricted-security-context", "seccomp Unconfined", (o) => {
		const d = find(o, "Deployment", "nginx");
		d.spec.template.spec.securityContext.seccompProfile = { type: "Unconfined" };
		delete d.spec.template.spec.containers[0].securityContext.seccompProfile;
	}],
	["restricted-security-context", "no emptyDir on /tmp", (o) => {
		const c = ctr(o, "pay-fcgi");
		c.volumeMounts = c.volumeMounts.filter((m) => m.mountPath !== "/tmp");
	}],
	["image-pinned", ":latest image", (o) => { ctr(o, "pay-fcgi").image = "registry.example.com/conduit/pay-fcgi:latest"; }],
	["image-pinned", "untagged image", (o) => { ctr(o, "nginx").image = "registry.example.com:5000/conduit/edge"; }],
	["no-literal-secrets", "literal password in env", (o) => {
		ctr(o, "blog-fcgi").env.push({ name: "BLOG_DB_PASSWORD", value: "hunter2" });
	}],
	["no-literal-secrets", "database URL from a ConfigMap key", (o) => {
		ctr(o, "pay-fcgi").env.push({ name: "PAY_DB_URL",
		    valueFrom: { configMapKeyRef: { name: "pay-settings", key: "LISTEN" } } });
	}],
	["no-literal-secrets", "credential in a ConfigMap", (o) => {
		o.find((x) => x.kind === "ConfigMap").data.PAY_DB_URL = "postgresql://pay_app:pw@db/pay";
	}],
	["no-literal-secrets", "Secret committed in the render", (o) => {
		o.push({ apiVersion: "v1", kind: "Secret", metadata: { name: "blog-db" }, stringData: { "app-password": "x" } });
	}],
	["networkpolicy-default-deny", "default deny removed", (o) => {
		o.splice(o.indexOf(find(o, "NetworkPolicy", "default-deny-all")), 1);
	}],
	["networkpolicy-default-deny", "default deny with an allow rule", (o) => {
		find(o, "NetworkPolicy", "default-deny-all").spec.ingress = [{}];
	}],
	["identity-channel", "blog egress to pay's admin port removed", (o) => {
		o.splice(o.indexOf(find(o, "NetworkPolicy", "blog-egress-pay-identity")), 1);
	}],
	["identity-channel", "pay does not take identity events in", (o) => {
		o.splice(o.indexOf(find(o, "NetworkPolicy", "pay-ingress-identity")), 1);
	}],
	["identity-channel", "edge allowed to pay's admin port", (o) => {
		find(o, "NetworkPolicy", "edge").spec.egress[0].ports.push({ protocol: "TCP", port: 9090 });
	}],
	["identity-channel", "blog not told where pay's identity route is", (o) => {
		const cm = o.find((x) => x.kind === "ConfigMap" && x.metadata.name.startsWith("blog-settings"));
		delete cm.data.BLOG_IDENTITY_URLS;
	}],
	["networkpolicy-selects-pods", "policy selector typo", (o) => {
		find(o, "NetworkPolicy", "edge").spec.podSelector.matchLabels["app.kubernetes.io/name"] = "ngnix";
	}],
	["service-account-token-off", "token automount not disabled", (o) => {
		delete podSpecOf(find(o, "Deployment", "nginx")).automountServiceAccountToken;
	}],
	["termination-grace", "grace period shorter than preStop + drain", (o) => {
		podSpecOf(find(o, "Deployment", "blog-fcgi")).terminationGracePeriodSeconds = 25;
	}],
	["termination-grace", "preStop removed", (o) => { delete ctr(o, "pay-fcgi").lifecycle; }],
	["termination-grace", "drain longer than the grace period", (o) => {
		const c = ctr(o, "pay-fcgi");
		c.env.push({ name: "SHUTDOWN_GRACE_SECONDS", value: "30" });
	}],
	["configmap-refs-resolve", "envFrom names a missing ConfigMap", (o) => {
		ctr(o, "blog-fcgi").envFrom[0].configMapRef.name = "blog-settings";
	}],
	["metrics-scraped", "scrape annotation removed", (o) => {
		delete find(o, "Deployment", "pay-fcgi").spec.template.metadata.annotations["prometheus.io/scrape"];
	}],
	["metrics-scraped", "readiness not on the admin port", (o) => {
		ctr(o, "blog-fcgi").readinessProbe.httpGet.port = 9000;
	}],
	["hpa-owns-replicas", "replicas set on an HPA-managed Deployment", (o) => {
		find(o, "Deployment", "pay-fcgi").spec.replicas = 3;
	}],
	["pdb-evicts-unhealthy", "PDB without unhealthyPodEvictionPolicy", (o) => {
		delete find(o, "PodDisruptionBudget", "blog-fcgi").spec.unhealthyPodEvictionPolicy;
	}],
	["pdb-evicts-unhealthy", "PDB with IfHealthyBudget", (o) => {
		find(o, "PodDisruptionBudget", "nginx").spec.unhealthyPodEvictionPolicy = "IfHealthyBudget";
	}],
	["spread-honors-taints", "DoNotSchedule spread counting tainted nodes", (o) => {
		delete podSpecOf(find(o, "Deployment", "nginx")).topologySpreadConstraints[0].nodeTaintsPolicy;
	}],
	["edge-workers-from-cpu", "worker count env removed", (o) => {
		const c = ctr(o, "nginx");
		c.env = c.env.filter((e) => e.name !== "NGINX_WORKER_PROCESSES");
	}],
	["edge-workers-from-cpu", "worker count from the node (auto)", (o) => {
		const c = ctr(o, "nginx");
		c.env = c.env.map((e) => e.name === "NGINX_WORKER_PROCESSES" ? { name: e.name, value: "auto" } : e);
	}],
	["spread-across-nodes", "no topology spread", (o) => {
		delete podSpecOf(find(o, "Deployment", "pay-fcgi")).topologySpreadConstraints;
	}],
	["spread-across-nodes", "two hostname constraints", (o) => {
		const t = podSpecOf(find(o, "Deployment", "nginx")).topologySpreadConstraints;
		t.push({ ...t[0], whenUnsatisfiable: "DoNotSchedule" === t[0].whenUnsatisfiable ? "ScheduleAnyway" : "DoNotSchedule" });
	}],
	["schema", "CNPG Cluster: misspelled spec.instance", (o) => {
		cr(o, "Cluster", "pay-pg").instance = 3;
	}, OPS],
	["schema", "CNPG Cluster: instances as a string", (o) => { cr(o, "Cluster", "pay-pg").instances = "3"; }, OPS],
	["schema", "CNPG Cluster: synchronous.method all (no such enum value)", (o) => {
		cr(o, "Cluster", "pay-pg").postgresql.synchronous.method = "all";
	}, OPS],
	["schema", "CNPG Cluster: unknown field in a managed role", (o) => {
		cr(o, "Cluster", "pay-pg").managed.roles[0].passwd = "x";
	}, OPS],
	["schema", "MariaDB: misspelled galera.enable", (o) => {
		const g = cr(o, "MariaDB", "blog-mariadb").galera;
		g.enable = g.enabled;
		delete g.enabled;
	}, OPS],
	["schema", "MariaDB Grant: privileges missing", (o) => { delete cr(o, "Grant", "blog-app").privileges; }, OPS],
	["schema", "MariaDB User: unknown field maxConnections", (o) => {
		cr(o, "User", "blog-app").maxConnections = 150;
	}, OPS],
	["schema", "custom resource: unknown metadata field", (o) => {
		find(o, "Cluster", "pay-pg").metadata.label = { a: "b" };
	}, OPS],
	["operator-postgresql-ha", "one instance", (o) => { cr(o, "Cluster", "pay-pg").instances = 1; }, OPS],
	["operator-postgresql-ha", "synchronous replication off", (o) => {
		delete cr(o, "Cluster", "pay-pg").postgresql.synchronous;
	}, OPS],
	["operator-postgresql-ha", "dataDurability preferred", (o) => {
		cr(o, "Cluster", "pay-pg").postgresql.synchronous.dataDurability = "preferred";
	}, OPS],
	["operator-postgresql-ha", "both standbys synchronous", (o) => {
		cr(o, "Cluster", "pay-pg").postgresql.synchronous.number = 2;
	}, OPS],
	["operator-mariadb-galera", "Galera off", (o) => { cr(o, "MariaDB", "blog-mariadb").galera.enabled = false; }, OPS],
	["operator-mariadb-galera", "two replicas", (o) => { cr(o, "MariaDB", "blog-mariadb").replicas = 2; }, OPS],
	["operator-mariadb-galera", "no automatic primary failover", (o) => {
		cr(o, "MariaDB", "blog-mariadb").galera.primary.autoFailover = false;
	}, OPS],
	["operator-primary-services", "pay on the replicas' Service pay-pg-ro", (o) => {
		find(o, "ConfigMap", o.find((x) => x.kind === "ConfigMap" && x.metadata.name.startsWith("pay-settings")).metadata.name).data.PGHOST = "pay-pg-ro";
	}, OPS],
	["operator-primary-services", "blog on the all-nodes Service", (o) => {
		ctr(o, "blog-fcgi").env.find((e) => e.name === "BLOG_DB_HOST").value = "blog-mariadb";
	}, OPS],
	["operator-primary-services", "blog without TLS", (o) => {
		o.find((x) => x.kind === "ConfigMap" && x.metadata.name.startsWith("blog-settings")).data.BLOG_DB_TLS = "off";
	}, OPS],
	["operator-primary-services", "MariaDB TLS not required", (o) => {
		cr(o, "MariaDB", "blog-mariadb").tls.required = false;
	}, OPS],
	["operator-primary-services", "the CA's private key mounted into pay", (o) => {
		const vol = podSpecOf(find(o, "Job", "pay-migrate")).volumes.find((x) => x.name === "db-ca");
		vol.secret.items.push({ key: "ca.key", path: "ca.key" });
	}, OPS],
	["operator-primary-services", "blog's CA file from another Secret", (o) => {
		podSpecOf(find(o, "Deployment", "blog-fcgi")).volumes.find((x) => x.name === "db-ca").secret.secretName = "blog-mariadb-ca";
	}, OPS],
	["networkpolicy-selects-pods", "CNPG policy selects a misspelled cluster", (o) => {
		find(o, "NetworkPolicy", "pay-pg").spec.podSelector.matchLabels["cnpg.io/cluster"] = "pay-pgx";
	}, OPS],
];

// ------------------------------------------------------------- main

function load(file) {
	const docs = YAML.parseAllDocuments(fs.readFileSync(file, "utf8"));
	const objs = [];
	for (const d of docs) {
		if (d.errors.length)
			throw new Error(`${file}: ${d.errors[0].message}`);
		const o = d.toJS();
		if (o !== null)
			objs.push(o);
	}
	return objs;
}

function runCheck(name, objs) {
	if (name === "schema")
		return objs.flatMap(schemaErrors);
	return POLICIES[name](objs);
}

function main(argv) {
	const sets = argv.map((a) => {
		const i = a.indexOf("=");
		if (i < 1)
			throw new Error(`argument ${a}: want NAME=FILE`);
		return { name: a.slice(0, i), objs: load(a.slice(i + 1)) };
	});
	if (sets.length === 0)
		throw new Error("usage: validate.js NAME=RENDERED.yaml ...");
	let failures = 0;
	let nobjs = 0;
	let nchecks = 0;
	for (const s of sets) {
		if (s.objs.length === 0) {
			console.error(`FAIL ${s.name}: rendered no objects`);
			failures++;
		}
		nobjs += s.objs.length;
		for (const e of runCheck("schema", s.objs)) {
			console.error(`FAIL ${s.name} schema: ${e}`);
			failures++;
		}
		for (const p of Object.keys(POLICIES)) {
			nchecks++;
			for (const e of POLICIES[p](s.objs)) {
				console.error(`FAIL ${s.name} ${p}: ${e}`);
				failures++;
			}
		}
	}
	// Every rule needs a case that proves it fires.
	for (const p of ["schema", ...Object.keys(POLICIES)])
		if (!NEGATIVES.some(([c]) => c === p)) {
			console.error(`FAIL negative cases: none for ${p}`);
			failures++;
		}
	// The broken cases start from the render they name (prod by default,
	// else the last given): its good copy passes, so each report is the
	// mutation's.
	let caught = 0;
	for (const [check, what, mutate, from] of NEGATIVES) {
		const base = sets.find((s) => s.name === (from || "prod")) ||
		    (from ? null : sets[sets.length - 1]);
		if (!base) {
			console.error(`FAIL negative ${check} (${what}): no render named ${from}`);
			failures++;
			continue;
		}
		const objs = JSON.parse(JSON.stringify(base.objs));
		let found;
		try {
			mutate(objs);
			found = runCheck(check, objs);
		} catch (e) {
			console.error(`FAIL negative ${check} (${what}): ${e.message}`);
			failures++;
			continue;
		}
		if (found.length === 0) {
			console.error(`FAIL negative ${check} (${what}): not caught`);
			failures++;
		} else {
			caught++;
			if (process.env.VERBOSE)
				console.log(`caught ${check} (${what}): ${found[0]}`);
		}
	}
	console.log(`k8s: ${nobjs} objects ${failures ? "checked" : "valid"} in ${sets.length} overlays (${sets.map((s) => `${s.name} ${s.objs.length}`).join(", ")}), ` +
	    `${nchecks} policy checks (${Object.keys(POLICIES).length} rules x ${sets.length}), ` +
	    `${caught}/${NEGATIVES.length} negative cases caught` + (failures ? `, ${failures} FAILURES` : ""));
	return failures === 0 ? 0 : 1;
}

try {
	process.exitCode = main(process.argv.slice(2));
} catch (e) {
	console.error(`validate.js: ${e.message}`);
	process.exitCode = 1;
}
