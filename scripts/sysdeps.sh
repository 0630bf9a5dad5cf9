#!/usr/bin/env bash
# System packages the product and its tests need: Chromium (chart export via
# kaleido, briefing PDF, browser tests), a CJK font (Chinese in charts and
# exports), poppler-utils (pdftotext in tests) and a Java runtime (Spark). Installs only what is missing.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
# Not `grep -q`: it exits at the first match, fc-list then fails on SIGPIPE and, with pipefail, the font
# looked missing, so every `make run` ran apt-get (seen: 3.8 s before Streamlit started).
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || need+=(fonts-noto-cjk)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)
# Java for Apache Spark (HOTLINE_ENGINE=spark; the pyspark wheel carries Spark's jars, not a JVM): the tests run a
# standalone cluster on loopback (tests/test_engine_spark.py). Spark 4 needs Java 17 or 21.
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "Installing system packages: ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
