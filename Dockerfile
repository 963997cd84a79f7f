# One image for every unbrand process (migrate, workers, dashboard).
#   docker build -t unbrand .                          CPU build of PyTorch
#   docker build --build-arg TORCH_INDEX=cu128 .        CUDA build for GPU workers
FROM python:3.11-slim

ARG TORCH_INDEX=cpu
ARG TORCH_VERSION=2.13.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*

# PyTorch first, pinned, from the index that matches the target (an unpinned torch pulls GBs of CUDA).
RUN pip install "torch==${TORCH_VERSION}" --index-url "https://download.pytorch.org/whl/${TORCH_INDEX}"

WORKDIR /app
COPY pyproject.toml README.md ./
COPY inpaint_core ./inpaint_core
COPY scheduler ./scheduler
COPY worker ./worker
COPY migrations ./migrations
COPY alembic.ini ./
# Editable: the migrations folder is found beside the scheduler package.
RUN pip install -e .

RUN useradd --create-home --uid 10001 unbrand
USER unbrand

CMD ["unbrand", "--help"]
