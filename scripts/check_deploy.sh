#!/usr/bin/env bash
# Offline checks of deploy/ (docs/deployment.md), no cluster and no container engine needed:
#   yamllint on every YAML file; hadolint on the Dockerfile; `kubectl kustomize` on every
#   kustomization; every rendered object and every standalone manifest validated strictly against
#   the Kubernetes schemas of the oldest and the newest version we support (kubernetes-validate);
#   the pod templates of custom resources as core PodTemplates; and the promises the manifests
#   make to each other and to the server (selectors, probe paths, drain deadline, $(VARS)).
#   scripts/check_deploy.sh [--cli build/tools/gemma]
# With --cli, every flag the manifests and the Dockerfile give `gemma serve` / `gemma train` must
# also be one that this gemma accepts. The tools come from the bootstrap virtualenv
# (scripts/requirements-clients.txt). Exit status 1 on any problem.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/env.sh"
bin=$GEMMA_VENV/bin
cli=
if [[ ${1:-} == --cli ]]; then
  cli=$(realpath "$2")
fi
for tool in python yamllint kubernetes-validate kubectl hadolint; do
  [[ -x $bin/$tool ]] || { echo "check_deploy: no $bin/$tool: run scripts/bootstrap.sh" >&2; exit 1; }
done
cd "$GEMMA_ROOT"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=0

echo "== yamllint (deploy/.yamllint)"
"$bin/yamllint" -c deploy/.yamllint --strict deploy/ && echo "ok   yamllint deploy/" || failed=1

echo "== hadolint"
"$bin/hadolint" --no-color --failure-threshold info deploy/docker/Dockerfile &&
  echo "ok   hadolint deploy/docker/Dockerfile (no finding)" || failed=1

echo "== kubectl kustomize ($("$bin/kubectl" version --client | sed -n 's/Kustomize Version: //p'))"
while read -r kustomization; do
  dir=$(dirname "$kustomization")
  name=${dir#deploy/k8s/}
  if "$bin/kubectl" kustomize "$dir" >"$out/${name//\//_}.yaml"; then
    echo "ok   rendered $dir"
  else
    failed=1
  fi
done < <(find deploy/k8s -name kustomization.yaml | sort)

echo "== manifests"
"$bin/python" - "$out" "$cli" <<'PY' || failed=1
import glob, json, os, re, subprocess, sys
import yaml
import kubernetes_validate as kv

out, cli = sys.argv[1], sys.argv[2]
# The oldest release the manifests promise to run on (everything they use is older: Indexed Jobs,
# the batch.kubernetes.io labels, autoscaling/v2), and the newest whose schemas kubernetes-validate has.
VERSIONS = ["1.33", kv.utils.latest_version()]
problems = []


def ok(what):
    print(f"ok   {what}")


def problem(what):
    print(f"FAIL {what}")
    problems.append(what)


def docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def validate(obj, where):
    name = f"{where}: {obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    for version in VERSIONS:
        try:
            kv.validate(obj, version, strict=True)
        except kv.SchemaNotFoundError:
            return custom_resource(obj, name)
        except kv.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            return problem(f"{name} against Kubernetes {version}: {path}: {e.message}")
    ok(f"{name} valid for Kubernetes {' and '.join(VERSIONS)}")


# Custom resources have no core schema. Their pod templates are core objects and are checked as
# such; anything else the schemas do not know is an error, so no typo can pass as a CRD.
def custom_resource(obj, name):
    kind = obj.get("kind")
    if kind == "PyTorchJob":
        for role, spec in obj["spec"]["pytorchReplicaSpecs"].items():
            template = {"apiVersion": "v1", "kind": "PodTemplate",
                        "metadata": {"name": f"{obj['metadata']['name']}-{role.lower()}"},
                        "template": spec["template"]}
            validate(template, f"{name} {role} pod template")
        ok(f"{name}: custom resource (kubeflow.org), only its pod templates have a schema")
    elif kind == "ServiceMonitor":
        ok(f"{name}: custom resource (monitoring.coreos.com) without a schema here: "
           "checked against the Service below")
    else:
        problem(f"{name}: no Kubernetes schema for {obj.get('apiVersion')} {kind}")


rendered = {os.path.basename(p)[:-5]: docs(p) for p in sorted(glob.glob(f"{out}/*.yaml"))}
for name, objs in rendered.items():
    for obj in objs:
        validate(obj, f"kustomize {name}")

# Standalone manifests: YAML under deploy/k8s that no kustomization renders (they went through
# kubectl kustomize above) nor patches (partial objects, checked in the rendered overlays).
used = set()
for kustomization in glob.glob("deploy/k8s/**/kustomization.yaml", recursive=True):
    base = os.path.dirname(kustomization)
    k = docs(kustomization)[0]
    entries = k.get("resources", []) + [p["path"] for p in k.get("patches", []) if "path" in p]
    used |= {os.path.normpath(os.path.join(base, e)) for e in entries}
    used.add(os.path.normpath(kustomization))
for path in sorted(glob.glob("deploy/k8s/**/*.yaml", recursive=True)):
    if os.path.normpath(path) not in used:
        for obj in docs(path):
            validate(obj, path)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def labels_match(selector, labels):
    return selector and all(labels.get(k) == v for k, v in selector.items())


def consistency():
    for name in ("overlays_cpu", "overlays_gpu"):
        serve_overlay(name)
    monitoring()
    training()


# What the serve overlays promise each other and the server (docs/server.md).
def serve_overlay(name):
    objs = rendered[name]
    dep = by_kind(objs, "Deployment")[0]
    pod = dep["spec"]["template"]
    labels = pod["metadata"]["labels"]
    spec = pod["spec"]
    c = spec["containers"][0]
    config = {k: v for cm in by_kind(objs, "ConfigMap") for k, v in cm["data"].items()}
    one = lambda kind: by_kind(objs, kind)[0]  # noqa: E731
    checks = {
        "the Deployment selects its pods": labels_match(dep["spec"]["selector"]["matchLabels"], labels),
        "the Service selects them": labels_match(one("Service")["spec"]["selector"], labels),
        "the PodDisruptionBudget selects them":
            labels_match(one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"], labels),
        "the HPA scales this Deployment":
            one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"],
        "every probe asks /health":
            all(c[p]["httpGet"]["path"] == "/health"
                for p in ("startupProbe", "readinessProbe", "livenessProbe")),
        "the ConfigMap it reads is rendered":
            {e["configMapRef"]["name"] for e in c["envFrom"]} <=
            {cm["metadata"]["name"] for cm in by_kind(objs, "ConfigMap")},
    }
    defined = set(config) | {e["name"] for e in c.get("env", [])}
    missing = {v for a in c["args"] for v in re.findall(r"\$\((\w+)\)", a)} - defined
    checks["every $(VAR) of the args is defined" +
           (f": missing {', '.join(sorted(missing))}" if missing else "")] = not missing
    grace = int(config["GEMMA_SHUTDOWN_GRACE"])
    pre_stop = int(c["lifecycle"]["preStop"]["exec"]["command"][-1])
    checks[f"terminationGracePeriodSeconds ({spec['terminationGracePeriodSeconds']}) covers preStop "
           f"({pre_stop}) + --shutdown-grace ({grace}) + 5"] = \
        spec["terminationGracePeriodSeconds"] >= pre_stop + grace + 5
    liveness = c["livenessProbe"]
    checks["liveness outlasts a drain (no restart while /health is 503 draining)"] = \
        liveness["periodSeconds"] * liveness["failureThreshold"] > grace
    for what, good in checks.items():
        (ok if good else problem)(f"{name}: {what}")
    if name == "overlays_gpu":
        gpu = c["resources"]["limits"].get("nvidia.com/gpu")
        (ok if gpu else problem)(f"{name}: the container has an nvidia.com/gpu limit")


def monitoring():
    monitor = docs("deploy/k8s/monitoring/servicemonitor.yaml")[0]
    service = by_kind(rendered["overlays_gpu"], "Service")[0]
    (ok if labels_match(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]) and
     {e["port"] for e in monitor["spec"]["endpoints"]} <= {p["name"] for p in service["spec"]["ports"]}
     else problem)("the ServiceMonitor selects the gemma Service and names its port")


def training():
    train = rendered["training"]
    job = by_kind(train, "Job")[0]
    jspec = job["spec"]
    env = {e["name"]: e for e in jspec["template"]["spec"]["containers"][0]["env"]}
    headless = by_kind(train, "Service")[0]
    checks = {
        "the Job is Indexed with one pod per rank":
            jspec["completionMode"] == "Indexed" and jspec["completions"] == jspec["parallelism"]
            == int(env["WORLD_SIZE"]["value"]),
        "RANK is the completion index":
            "job-completion-index" in env["RANK"]["valueFrom"]["fieldRef"]["fieldPath"],
        "MASTER_ADDR is pod 0 in the headless Service":
            headless["spec"]["clusterIP"] == "None" and
            jspec["template"]["spec"]["subdomain"] == headless["metadata"]["name"] and
            env["MASTER_ADDR"]["value"] == f"{job['metadata']['name']}-0.{headless['metadata']['name']}",
        "the headless Service selects the Job's pods":
            headless["spec"]["selector"] == {"batch.kubernetes.io/job-name": job["metadata"]["name"]},
        "MASTER_PORT is the Service's port":
            int(env["MASTER_PORT"]["value"]) in {p["port"] for p in headless["spec"]["ports"]},
    }
    for what, good in checks.items():
        (ok if good else problem)(f"training: {what}")


try:
    consistency()
except (KeyError, IndexError, TypeError, ValueError) as e:
    problem(f"cross-object checks stopped: {type(e).__name__} {e} (see the failures above)")

# Every flag given to gemma exists in this build of it.
if cli:
    uses = []  # (subcommand, flag, where)
    for name, objs in rendered.items():
        for obj in objs:
            for c in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
                uses += [(c["args"][0], a.split("=")[0], f"kustomize {name}")
                         for a in c.get("args", [])[1:] if a.startswith("--")]
    for rs in docs("deploy/k8s/training/pytorchjob.yaml")[0]["spec"]["pytorchReplicaSpecs"].values():
        args = rs["template"]["spec"]["containers"][0]["args"]
        uses += [(args[0], a.split("=")[0], "pytorchjob.yaml") for a in args[1:] if a.startswith("--")]
    with open("deploy/docker/Dockerfile") as f:
        text = re.sub(r"\\\n\s*", "", f.read())
    for line in text.splitlines():
        if line.startswith("CMD ["):
            args = json.loads(line[4:])
            uses += [(args[0], a, "Dockerfile CMD") for a in args[1:] if a.startswith("--")]
    places = {}
    for sub, flag, where in uses:
        places.setdefault((sub, flag), set()).add(where)
    helps = {}
    for sub in sorted({sub for sub, _ in places}):
        run = subprocess.run([cli, sub, "--help"], capture_output=True, text=True)
        # An unknown subcommand gets the top-level help, whose usage line does not name it.
        known = run.returncode == 0 and re.search(rf"^Usage: \S+ {sub} ", run.stdout, re.M)
        helps[sub] = run.stdout if known else None
        if not known:
            problem(f"{cli} has no '{sub}' command")
    for (sub, flag), where in sorted(places.items()):
        if helps[sub] is not None:
            known = re.search(rf"(^|[\s,]){re.escape(flag)}([\s,=]|$)", helps[sub], re.M)
            (ok if known else problem)(f"gemma {sub} accepts {flag} ({', '.join(sorted(where))})")

print(f"manifests: {len(problems)} problem(s)")
sys.exit(1 if problems else 0)
PY

if ((failed)); then
  echo "check_deploy: FAILED" >&2
  exit 1
fi
echo "check_deploy: all checks passed"
