#!/usr/bin/python3
# extract-crds.py: rebuild operator-crds.json, the openAPIV3Schema of the
# operator CRDs the db-operators component uses, from the operators' own
# CRD YAML at the pinned release tags (descriptions dropped; nothing else
# changed), so that validate.js checks the custom resources offline.
# Not run by make test; needs PyYAML (Debian: python3-yaml).
#
#   c=github.com/cloudnative-pg/cloudnative-pg m=github.com/mariadb-operator/mariadb-operator
#   git -C cloudnative-pg show v1.30.0:config/crd/bases/postgresql.cnpg.io_clusters.yaml \
#       >postgresql.cnpg.io_clusters.yaml
#   for k in mariadbs users grants; do git -C mariadb-operator show \
#       v26.6.0:config/crd/bases/k8s.mariadb.com_$k.yaml >k8s.mariadb.com_$k.yaml; done
#   ./extract-crds.py operator-crds.json \
#       "$c v1.30.0 config/crd/bases"=postgresql.cnpg.io_clusters.yaml \
#       "$m v26.6.0 config/crd/bases"=k8s.mariadb.com_mariadbs.yaml=k8s.mariadb.com_users.yaml=k8s.mariadb.com_grants.yaml
import json
import sys

import yaml


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main(out, specs):
    doc = {
        "comment": "openAPIV3Schema of the operators' CRDs (descriptions dropped), "
        "made by extract-crds.py; sources: the release tag and file of each",
        "sources": {},
        "schemas": {},
    }
    for spec in specs:
        source, *files = spec.split("=")
        for f in files:
            with open(f, encoding="utf-8") as fh:
                crd = yaml.safe_load(fh)
            group = crd["spec"]["group"]
            kind = crd["spec"]["names"]["kind"]
            for v in crd["spec"]["versions"]:
                if not v.get("served", True):
                    continue
                key = f"{group}/{v['name']} {kind}"
                doc["schemas"][key] = strip(v["schema"]["openAPIV3Schema"])
                doc["sources"][key] = f"{source}/{f.rsplit('/', 1)[-1]}"
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, separators=(",", ":"), sort_keys=True)
        fh.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: extract-crds.py OUT.json 'SOURCE'=CRD.yaml[=CRD.yaml...] ...")
    main(sys.argv[1], sys.argv[2:])
