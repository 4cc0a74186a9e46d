# fairsplit services image. The CUDA build of torch comes from PyPI here (this image runs
# on GPU hosts); model weights are mounted at /models, never baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FAIRSPLIT_KEY_DIR=/var/lib/fairsplit/keys \
    FAIRSPLIT_MODEL_CACHE=/var/lib/fairsplit/models \
    HF_HOME=/models/hf

WORKDIR /app
COPY pyproject.toml README.md cli.py ./
COPY fairsplit ./fairsplit
COPY ledger ./ledger
COPY services ./services
COPY migrations ./migrations
RUN pip install "torch==2.13.0" && pip install .

RUN useradd --create-home --uid 10001 fairsplit \
    && mkdir -p /var/lib/fairsplit/keys /var/lib/fairsplit/models \
    && chown -R fairsplit /var/lib/fairsplit
USER fairsplit

ENTRYPOINT ["fairsplit"]
CMD ["--help"]
