"""A real HTTP server on 127.0.0.1 for the download tests: serves the files of a directory, answers Range requests
(206 with Content-Range), counts the requests per file, and can drop a connection halfway through a file."""
import http.server
import os
import re
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def _serve(self, body):
        name = self.path.lstrip('/')
        path = os.path.join(self.server.directory, name)
        if body:
            self.server.requests.append((name, self.headers.get('Range')))
        if not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, 'rb') as f:
            data = f.read()
        start = 0
        wanted = re.fullmatch(r'bytes=(\d+)-', self.headers.get('Range') or '')
        if wanted:
            start = int(wanted.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header('Content-Range', f'bytes */{len(data)}')
                self.send_header('Content-Length', '0')
                self.end_headers()
                return
            self.send_response(206)
            self.send_header('Content-Range', f'bytes {start}-{len(data) - 1}/{len(data)}')
        else:
            self.send_response(200)
        self.send_header('Content-Length', str(len(data) - start))
        self.send_header('Accept-Ranges', 'bytes')
        self.end_headers()
        if not body:
            return
        cut = self.server.cut_after.pop(name, None) if body else None
        self.wfile.write(data[start:start + cut] if cut is not None else data[start:])
        if cut is not None:  # the connection drops: the client got fewer bytes than Content-Length said
            self.wfile.flush()
            self.close_connection = True


class FileServer:
    """with FileServer(directory) as server: server.url, server.requests, server.cut_after[name] = bytes."""

    def __init__(self, directory):
        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.httpd.directory = str(directory)
        self.httpd.requests = []
        self.httpd.cut_after = {}
        self.url = f'http://127.0.0.1:{self.httpd.server_address[1]}'

    @property
    def requests(self):
        return self.httpd.requests

    @property
    def cut_after(self):
        return self.httpd.cut_after

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
