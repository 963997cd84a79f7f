# One image for every unbrand process (settings check, migrate, bucket, workers, dashboard).
#   docker build -t unbrand .                          CPU build of PyTorch
#   docker build --build-arg TORCH_INDEX=cu128 .        CUDA build for GPU workers
# The build context is filtered by .dockerignore (no .venv, .git, outputs or .env).
FROM python:3.11.11-slim-bookworm

ARG TORCH_INDEX=cpu
ARG TORCH_VERSION=2.13.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 libcairo2 \
    && rm -rf /var/lib/apt/lists/*

# PyTorch first, pinned, from the index that matches the target (an unpinned torch pulls GBs of
# CUDA); this layer stays cached while the code changes.
RUN pip install "torch==${TORCH_VERSION}" --index-url "https://download.pytorch.org/whl/${TORCH_INDEX}"

# A plain (non-editable) install: the migrations and alembic.ini travel inside the package
# (setup.py), so nothing is read from the source folder, which is removed again.
WORKDIR /build
COPY pyproject.toml setup.py MANIFEST.in README.md alembic.ini ./
COPY migrations ./migrations
COPY inpaint_core ./inpaint_core
COPY scheduler ./scheduler
COPY worker ./worker
COPY unbrand ./unbrand
RUN pip install . && rm -rf /build

RUN useradd --create-home --uid 10001 unbrand
USER unbrand
WORKDIR /home/unbrand

CMD ["unbrand", "--help"]
