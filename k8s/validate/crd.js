// crd.js: offline validation of custom resources against the
// openAPIV3Schema of their CRDs, as the API server applies it, with
// unknown fields rejected where the API server would prune them.
//
// The schemas are operator-crds.json: the CRDs the db-operators component
// uses, extracted by extract-crds.py from the operators' own CRD YAML at
// the pinned release tags (the file's "sources" says which file of which
// release each came from). Not evaluated: x-kubernetes-validations (CEL)
// rules and string formats; the policy rules in validate.js check what
// matters of those for this project (instances, Galera replicas).
"use strict";

const fs = require("fs");
const path = require("path");

const CRDS = JSON.parse(fs.readFileSync(path.join(__dirname, "operator-crds.json"), "utf8"));

// The ObjectMeta fields a manifest may set.
const META_FIELDS = new Set(["name", "generateName", "namespace", "labels", "annotations",
	"finalizers", "ownerReferences"]);

function typeOf(v) {
	if (v === null)
		return "null";
	if (Array.isArray(v))
		return "array";
	if (Number.isInteger(v))
		return "integer";
	return typeof v;
}

function typeOk(s, v) {
	const t = typeOf(v);
	if (t === "null")
		return s.nullable === true;
	if (s["x-kubernetes-int-or-string"])
		return t === "integer" || t === "string";
	if (s.type === undefined)
		return true;
	if (s.type === "number")
		return t === "integer" || t === "number";
	return s.type === t;
}

// The API server's patterns are ECMA 262; some escape a character the
// "u" flag refuses, so those compile without it.
function patternOf(p) {
	try {
		return new RegExp(p, "u");
	} catch (e) {
		return new RegExp(p);
	}
}

// Errors of value v at path p against structural schema s. In anyOf,
// allOf and oneOf branches (branch true) a structural schema only adds
// value checks, never fields, so no field is unknown there.
function check(s, v, p, errs, branch) {
	if (!typeOk(s, v)) {
		errs.push(`${p}: ${JSON.stringify(v)} is not of type ${s["x-kubernetes-int-or-string"] ? "int-or-string" : s.type}`);
		return;
	}
	if (v === null)
		return;
	if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
		errs.push(`${p}: ${JSON.stringify(v)} is not one of ${JSON.stringify(s.enum)}`);
	if (typeof v === "number") {
		if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum))
			errs.push(`${p}: ${v} is below the minimum ${s.minimum}`);
		if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum))
			errs.push(`${p}: ${v} is above the maximum ${s.maximum}`);
	}
	if (typeof v === "string") {
		if (s.minLength !== undefined && v.length < s.minLength)
			errs.push(`${p}: shorter than ${s.minLength}`);
		if (s.maxLength !== undefined && v.length > s.maxLength)
			errs.push(`${p}: longer than ${s.maxLength}`);
		if (s.pattern !== undefined && !patternOf(s.pattern).test(v))
			errs.push(`${p}: ${JSON.stringify(v)} does not match ${s.pattern}`);
	}
	for (const alt of s.allOf || [])
		check(alt, v, p, errs, true);
	if (s.anyOf && !s.anyOf.some((alt) => {
		const e = [];
		check(alt, v, p, e, true);
		return e.length === 0;
	}))
		errs.push(`${p}: matches none of anyOf`);
	if (s.oneOf && s.oneOf.filter((alt) => {
		const e = [];
		check(alt, v, p, e, true);
		return e.length === 0;
	}).length !== 1)
		errs.push(`${p}: does not match exactly one of oneOf`);
	if (Array.isArray(v)) {
		if (s.minItems !== undefined && v.length < s.minItems)
			errs.push(`${p}: fewer than ${s.minItems} items`);
		if (s.maxItems !== undefined && v.length > s.maxItems)
			errs.push(`${p}: more than ${s.maxItems} items`);
		if (s.items)
			v.forEach((x, i) => check(s.items, x, `${p}/${i}`, errs, branch));
		return;
	}
	if (typeof v !== "object")
		return;
	for (const r of s.required || [])
		if (!Object.prototype.hasOwnProperty.call(v, r))
			errs.push(`${p}: required field ${r} missing`);
	const props = s.properties || {};
	const extra = s.additionalProperties;
	for (const [k, x] of Object.entries(v)) {
		if (Object.prototype.hasOwnProperty.call(props, k))
			check(props[k], x, `${p}/${k}`, errs, branch);
		else if (extra && typeof extra === "object")
			check(extra, x, `${p}/${k}`, errs, branch);
		else if (branch || extra === true || s["x-kubernetes-preserve-unknown-fields"])
			continue;
		else if (s["x-kubernetes-embedded-resource"] && ["apiVersion", "kind", "metadata"].includes(k))
			continue;
		else
			errs.push(`${p}/${k}: unknown field`);
	}
}

function metaErrors(md, errs) {
	if (typeOf(md) !== "object") {
		errs.push("/metadata: not an object");
		return;
	}
	for (const [k, x] of Object.entries(md)) {
		if (!META_FIELDS.has(k))
			errs.push(`/metadata/${k}: unknown field`);
		else if ((k === "labels" || k === "annotations") &&
		    (typeOf(x) !== "object" || Object.values(x).some((y) => typeof y !== "string")))
			errs.push(`/metadata/${k}: not a map of strings`);
	}
	if (typeof md.name !== "string" || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(md.name))
		errs.push(`/metadata/name: ${JSON.stringify(md.name)} is not a valid name`);
}

// The schema for apiVersion/kind, or null when no CRD here defines it.
function schemaFor(apiVersion, kind) {
	return CRDS.schemas[`${apiVersion} ${kind}`] || null;
}

// Errors of one custom resource; null when its kind is not one of ours.
function crdErrors(obj) {
	const s = schemaFor(obj && obj.apiVersion, obj && obj.kind);
	if (s === null)
		return null;
	const errs = [];
	const rest = { ...obj };
	metaErrors(obj.metadata, errs);
	delete rest.metadata;
	// The root schema's metadata is a bare object: ObjectMeta is the API
	// server's, checked above.
	const root = { ...s, properties: { ...s.properties } };
	delete root.properties.metadata;
	if (root.required)
		root.required = root.required.filter((r) => r !== "metadata");
	check(root, rest, "", errs, false);
	return errs;
}

module.exports = { crdErrors, schemaFor, sources: CRDS.sources };
