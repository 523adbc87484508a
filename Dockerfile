# The same environment as ./run app: Python 3.11, CPU torch 2.13.0, the default models from packages.
#
#   docker build -t video-search .
#   docker run -p 7860:7860 -v video-search-data:/app/data -e VIDEOSEARCH_AUTH=ann:change-me video-search
#
# The app listens on 0.0.0.0 inside the container, so it refuses to start without passwords
# (VIDEOSEARCH_AUTH=user:password[,user:password]); VIDEOSEARCH_NO_AUTH=1 starts it open, with a
# warning, for when a proxy in front already decides who gets in. Everything it writes (the
# store, uploads, model caches, Gradio's upload files) is under /app/data, the volume; a bind
# mount (-v "$PWD/data:/app/data") must be writable by uid 1000, or add --user "$(id -u)".
# The CLaMR weights are downloaded into the volume when --encoder clamr asks for them; add
# -e HF_HUB_OFFLINE=1 to forbid any download (the default encoder never needs one).
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# espeak-ng regenerates the demo collection; libgl/libglib are what opencv wheels load.
RUN apt-get update && apt-get install -y --no-install-recommends \
        espeak-ng libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# torch alone first, from the CPU index: a plain install would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -r requirements.txt

# An unprivileged user (uid 1000, as Hugging Face's Docker Spaces run it); the code stays root's,
# read-only to the app; the data folder is its own.
RUN useradd --create-home --uid 1000 --user-group app \
    && mkdir -p /app/data/cache \
    && chown -R app:app /app/data
COPY backend backend
COPY app app
COPY assets assets
COPY app.py README.md ./

ENV HOME=/home/app \
    VIDEOSEARCH_HOST=0.0.0.0 \
    VIDEOSEARCH_PORT=7860 \
    VIDEOSEARCH_STORE=/app/data/store \
    VIDEOSEARCH_CACHE=/app/data/cache/clamr-video-search \
    HF_HOME=/app/data/cache/huggingface \
    TORCH_HOME=/app/data/cache/torch \
    XDG_CACHE_HOME=/app/data/cache \
    GRADIO_TEMP_DIR=/app/data/cache/gradio \
    GRADIO_ANALYTICS_ENABLED=False
VOLUME /app/data
USER app
EXPOSE 7860

# The page answers 200 (the login form when passwords are on) once the app serves; the first
# start indexes the demo collection in the background, which does not delay it.
HEALTHCHECK --interval=30s --timeout=10s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('VIDEOSEARCH_PORT', '7860'), timeout=8)"]

CMD ["python", "-m", "app"]
