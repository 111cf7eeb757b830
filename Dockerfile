# The char-rnn playground in a container: docker build -t char-rnn . && docker run -p 8501:8501 char-rnn
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY streamlit_app.py ./
COPY .streamlit ./.streamlit
COPY pages ./pages
COPY playground ./playground
COPY rnn_core ./rnn_core
COPY assets ./assets

RUN useradd --create-home --uid 10001 app && mkdir /data && chown app /data
# The run store: mount a volume here to keep runs across containers (docker run -v char-rnn-data:/data ...)
ENV CHAR_RNN_DATA_DIR=/data
VOLUME /data
USER app
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"
# Listen on every interface inside the container; .streamlit/config.toml keeps local runs on loopback.
CMD ["streamlit", "run", "streamlit_app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
