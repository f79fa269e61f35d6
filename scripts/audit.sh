#!/usr/bin/env bash
# Production dependency audit. Fails on any high or critical advisory in production dependencies.
# When the registry's audit endpoint cannot be reached (offline, or a mirror without the audit API) it warns,
# still checks the installed versions against the fixed releases of the advisories we know of, and exits 0
# unless one of those is below its fix.
set -uo pipefail
cd "$(dirname "$0")/.."
PNPM=(npx -y pnpm@10.34.9)

report=$(mktemp)
trap 'rm -f "$report"' EXIT
"${PNPM[@]}" audit --prod --json >"$report" 2>&1
audit_rc=$?

# Known advisories: minimum fixed version per major line (a major line older than every listed one fails).
floor_check() {
  "${PNPM[@]}" list -r --prod --depth Infinity --json 2>/dev/null | node -e '
    const floors = {
      ws: { 5: "5.2.4", 6: "6.2.3", 7: "7.5.10", 8: "8.17.1" },             // CVE-2024-37890
      "http-proxy-middleware": { 2: "2.0.9", 3: "3.0.7" },                  // CVE-2024-21536, CVE-2025-32996/7
      braces: { 3: "3.0.3" },                                               // CVE-2024-4068
      micromatch: { 4: "4.0.8" },                                           // CVE-2024-4067
      "path-to-regexp": { 0: "0.1.12", 1: "1.9.0", 3: "3.3.0", 6: "6.3.0", 8: "8.0.0" }, // CVE-2024-45296, -52798
      "body-parser": { 1: "1.20.3", 2: "2.0.0" },                           // CVE-2024-45590
      express: { 4: "4.20.0", 5: "5.0.0" },                                 // CVE-2024-43796
      send: { 0: "0.19.0", 1: "1.0.0" },                                    // CVE-2024-43799
      "serve-static": { 1: "1.16.0", 2: "2.0.0" },                          // CVE-2024-43800
      cookie: { 0: "0.7.0", 1: "1.0.0" },                                   // CVE-2024-47764
      "follow-redirects": { 1: "1.15.6" },                                  // CVE-2024-28849
      jose: { 4: "4.15.5", 5: "5.0.0", 6: "6.0.0" },                        // CVE-2024-28176
      "cross-spawn": { 7: "7.0.5" },                                        // CVE-2024-21538
      pg: { 8: "8.0.0" },
    };
    const parse = (v) => v.split(/[.+-]/).slice(0, 3).map(Number);
    const below = (a, b) => { const [x, y] = [parse(a), parse(b)]; for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i]; return false; };
    const seen = new Map();
    const walk = (deps) => { for (const [name, d] of Object.entries(deps ?? {})) { if (d.version && /^\d/.test(d.version)) seen.set(`${name}@${d.version}`, [name, d.version]); walk(d.dependencies); } };
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      for (const project of JSON.parse(text)) walk(project.dependencies);
      const bad = [];
      for (const [name, version] of seen.values()) {
        const lines = floors[name]; if (!lines) continue;
        const major = parse(version)[0]; const fixed = lines[major];
        const oldest = Math.min(...Object.keys(lines).map(Number));
        if ((fixed && below(version, fixed)) || (!fixed && major < oldest)) bad.push(`${name}@${version} (fixed in ${fixed ?? lines[oldest]})`);
      }
      if (bad.length) { console.error("audit: below the fixed release of a known advisory: " + bad.join(", ")); process.exit(1); }
      console.log(`audit: ${seen.size} production packages at or above the fixed releases of known advisories`);
    });'
}

counts=$(node -e '
  try {
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = r.metadata && r.metadata.vulnerabilities;
    if (!v) process.exit(2);
    console.log(`${v.high ?? 0} ${v.critical ?? 0} ${v.moderate ?? 0} ${v.low ?? 0}`);
  } catch { process.exit(2); }' "$report")
parsed=$?

if [ $parsed -ne 0 ]; then
  echo "audit: WARNING: the registry audit endpoint gave no report (exit $audit_rc): $(head -c 300 "$report" | tr '\n' ' ')" >&2
  echo "audit: falling back to the offline check of known advisories" >&2
  floor_check
  exit $?
fi

read -r high critical moderate low <<<"$counts"
echo "audit: production dependencies: $critical critical, $high high, $moderate moderate, $low low"
if [ "$high" -gt 0 ] || [ "$critical" -gt 0 ]; then
  "${PNPM[@]}" audit --prod --audit-level high || true
  echo "audit: FAILED: high or critical advisories in production dependencies" >&2
  exit 1
fi
floor_check
