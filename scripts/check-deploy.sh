#!/usr/bin/env bash
# Validates the deployment files without a Docker engine or a cluster (CI runs it):
#   compose     docker-compose.yml against the Compose schema (dclint) and the repository (compose.mjs);
#               docker-compose.redis-cluster.yml the same way, laid over it (compose-redis-cluster.mjs)
#   image       Dockerfile and .dockerignore follow the one-recipe build (image.mjs)
#   nginx       nginx -t, then nginx itself in front of stub gateways and notifiers on 127.0.0.1 (nginx.mjs)
#   k8s         kubectl kustomize of base and overlays (example, redis-cluster); Kubernetes schemas, strict
#               fields, policy, and the overlay's own Redis Cluster (k8s.mjs)
#   monitoring  promtool check config/rules, promtool test rules, dashboard and rules (monitoring.mjs)
#   build       only with --build (1-2 more minutes): the Dockerfile's build stage played per service
#               without Docker, then the five outputs run as a stack on this machine (build.mjs)
# Tools come from the registries this project may use and are cached outside the repository:
# npm (yaml, kubernetes-models, dclint, typescript, exact versions) and Debian's nginx and prometheus
# packages, unpacked rather than installed so no daemon is started. Exits non-zero if any check fails.
set -euo pipefail

build=false
for arg in "$@"; do
  case $arg in
    --build) build=true ;;
    *) echo "usage: $0 [--build]" >&2; exit 2 ;;
  esac
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${ZEPHYR_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/zephyr-check-deploy}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started=$SECONDS
passed=0
failed=0

say() { printf '%s\n' "$*"; }
ok() { passed=$((passed + 1)); say "  ok    $1"; }
fail() { failed=$((failed + 1)); say "  FAIL  $1"; }
skip() { say "  skip  $1"; }

# Runs a helper and adds its counts (printed as "##counts <passed> <failed>") to ours.
run_helper() {
  local output status=0 line
  output="$(CHECK_DEPLOY_COUNTS=1 REPO_ROOT="$repo" node "$tools/checks/$1" "${@:2}" 2>&1)" || status=$?
  while IFS= read -r line; do
    if [[ $line == '##counts '* ]]; then
      read -r _ p f <<<"$line"
      passed=$((passed + p))
      failed=$((failed + f))
    else
      say "$line"
    fi
  done <<<"$output"
  if [[ $status -ne 0 && $output != *'  FAIL  '* ]]; then fail "$1 exited with status $status"; fi
}

npm_tools() {
  local wanted='yaml@2.8.1 kubernetes-models@5.1.0 dclint@3.1.0 typescript@5.9.3'
  mkdir -p "$tools"
  if [[ "$(cat "$tools/.npm-stamp" 2>/dev/null)" != "$wanted" ]]; then
    say "installing $wanted into $tools"
    printf '{"name":"zephyr-check-deploy-tools","private":true}\n' >"$tools/package.json"
    # kubernetes-models declares node >=22 but its validators run on 20; engine warnings are expected.
    # shellcheck disable=SC2086
    (cd "$tools" && npm install --no-save --no-audit --no-fund --loglevel=error --engine-strict=false $wanted >/dev/null)
    say "$wanted" >"$tools/.npm-stamp"
  fi
  rm -rf "$tools/checks" && cp -r "$repo/scripts/check-deploy" "$tools/checks"
}

# Prints the path of a binary from a Debian package, unpacking the package into the cache if needed.
deb_tool() {
  local binary=$1 package=$2 inner=$3
  if command -v "$binary" >/dev/null 2>&1; then command -v "$binary"; return; fi
  if [[ ! -x "$tools/deb/$inner" ]]; then
    mkdir -p "$tools/debs" "$tools/deb"
    (
      cd "$tools/debs"
      rm -f "${package}"_*.deb
      apt-get download -qq -o APT::Sandbox::User=root "$package" >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get download -qq -o APT::Sandbox::User=root "$package" >/dev/null 2>&1; }
      dpkg-deb -x "${package}"_*.deb "$tools/deb"
      rm -f "${package}"_*.deb
    ) || return 1
  fi
  echo "$tools/deb/$inner"
}

cd "$repo"
say "check-deploy: tools in $tools"
npm_tools
nginx_bin="$(deb_tool nginx nginx usr/sbin/nginx || true)"
promtool_bin="$(deb_tool promtool prometheus usr/bin/promtool || true)"

say "== compose"
# no-build-and-image is off: compose builds the image and tags it with `image`, which the migrate
# jobs and the second gateway reuse.
if "$tools/node_modules/.bin/dclint" docker-compose.yml -q --color=false \
  --disable-rule no-build-and-image >"$work/dclint.txt" 2>&1; then
  ok 'compose: docker-compose.yml matches the Compose specification schema (dclint)'
else
  sed 's/^/        /' "$work/dclint.txt"
  fail 'compose: dclint found errors'
fi
run_helper compose.mjs
# The Redis Cluster override is a compose file of its own: the same schema check, then how it lays over the base.
if "$tools/node_modules/.bin/dclint" docker-compose.redis-cluster.yml -q --color=false >"$work/dclint.txt" 2>&1; then
  ok 'compose: docker-compose.redis-cluster.yml matches the Compose specification schema (dclint)'
else
  sed 's/^/        /' "$work/dclint.txt"
  fail 'compose: dclint found errors in docker-compose.redis-cluster.yml'
fi
run_helper compose-redis-cluster.mjs

say "== image"
run_helper image.mjs

if $build; then
  say "== build"
  run_helper build.mjs "$work"
fi

say "== nginx"
if [[ -n $nginx_bin ]]; then
  run_helper nginx.mjs "$nginx_bin"
else
  fail 'nginx: no nginx binary (apt-get download nginx failed)'
fi

say "== k8s"
rendered_ok=true
for dir in k8s/overlays/example k8s/overlays/redis-cluster k8s/base; do
  out="$work/$(basename "$dir").yaml"
  if kubectl kustomize "$dir" >"$out" 2>"$work/kustomize.err"; then
    ok "k8s: kubectl kustomize $dir ($(grep -c '^kind:' "$out") objects)"
  else
    fail "k8s: kubectl kustomize $dir: $(cat "$work/kustomize.err")"
    rendered_ok=false
  fi
done
if $rendered_ok; then
  run_helper k8s.mjs "$work/example.yaml" "$work/redis-cluster.yaml" --schema-only "$work/base.yaml"
fi

say "== monitoring"
run_helper monitoring.mjs "$work"
if [[ -n $promtool_bin ]]; then
  # monitoring.mjs wrote copies that point at this checkout instead of in-container paths.
  for config in monitoring/prometheus.yml monitoring/prometheus-kubernetes.yml; do
    if "$promtool_bin" check config "$work/$(basename "$config")" >"$work/promtool.txt" 2>&1; then
      ok "monitoring: promtool check config $config"
    else
      sed 's/^/        /' "$work/promtool.txt"
      fail "monitoring: promtool check config $config"
    fi
  done
  for rules in monitoring/alerts/*.rules.yml "$work/dashboard-queries.yml"; do
    if "$promtool_bin" check rules "$rules" >"$work/promtool.txt" 2>&1; then
      ok "monitoring: promtool check rules $(basename "$rules") ($(grep -o '[0-9]* rules found' "$work/promtool.txt"))"
    else
      sed 's/^/        /' "$work/promtool.txt"
      fail "monitoring: promtool check rules $(basename "$rules")"
    fi
  done
  for tests in monitoring/tests/*.test.yml; do
    if "$promtool_bin" test rules "$tests" >"$work/promtool.txt" 2>&1; then
      ok "monitoring: promtool test rules $tests ($(grep -c '^  - name:' "$tests") cases)"
    else
      sed 's/^/        /' "$work/promtool.txt"
      fail "monitoring: promtool test rules $tests"
    fi
  done
else
  skip 'monitoring: promtool unavailable (apt-get download prometheus failed); rules checked for structure only'
fi

say "check-deploy: took $((SECONDS - started)) s"
say "check-deploy: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
