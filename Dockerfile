# The same environment as ./run app: Python 3.11, CPU torch 2.13.0, every model from packages.
# docker build -t clamr-video-search . && docker run -p 7860:7860 -v $PWD/data:/app/data clamr-video-search
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GRADIO_SERVER_NAME=0.0.0.0 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# espeak-ng regenerates the demo collection; libgl/libglib are what opencv wheels load.
RUN apt-get update && apt-get install -y --no-install-recommends \
        espeak-ng libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
# torch alone first, from the CPU index: a plain install would pull a multi-GB CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu \
    && pip install -r requirements.txt

COPY backend backend
COPY app app
COPY assets assets
COPY README.md .

EXPOSE 7860
CMD ["python", "-m", "app", "--host", "0.0.0.0", "--port", "7860"]
