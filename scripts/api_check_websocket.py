"""A minimal RFC 6455 WebSocket client (handshake, masked frames, fragments, ping), stdlib only."""
import base64, hashlib, json, os, socket, time


class WebSocket:
    """One client connection: the upgrade handshake in the constructor (`status`, `accept_ok`),
    then masked frames out and whole messages in."""

    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, path, timeout=30, origin=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        origin_line = f"Origin: {origin}\r\n" if origin else ""
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n{origin_line}"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during the handshake: {head!r}")
            head += chunk
        head, _, self.buffer = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        expected = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        self.accept_ok = self.headers.get("sec-websocket-accept") == expected

    def send(self, payload, opcode=1):
        data = payload.encode() if isinstance(payload, str) else payload
        mask = os.urandom(4)
        length = len(data)
        if length < 126:
            header = bytes([0x80 | opcode, 0x80 | length])
        elif length < 65536:
            header = bytes([0x80 | opcode, 0x80 | 126]) + length.to_bytes(2, "big")
        else:
            header = bytes([0x80 | opcode, 0x80 | 127]) + length.to_bytes(8, "big")
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def read_exact(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self, timeout):
        """The next text or binary message; answers pings; raises on close or timeout."""
        self.sock.settimeout(timeout)
        message, first_opcode = b"", None
        while True:
            b0, b1 = self.read_exact(2)
            opcode, length = b0 & 0x0F, b1 & 0x7F
            if length == 126:
                length = int.from_bytes(self.read_exact(2), "big")
            elif length == 127:
                length = int.from_bytes(self.read_exact(8), "big")
            mask = self.read_exact(4) if b1 & 0x80 else None
            data = self.read_exact(length)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 9:
                self.send(data, opcode=10)
            elif opcode == 8:
                raise ConnectionError(f"closed by the server: {data[:2].hex()} {data[2:]!r}")
            elif opcode in (0, 1, 2):
                first_opcode = first_opcode or opcode
                message += data
                if b0 & 0x80:
                    return message.decode() if first_opcode == 1 else message

    def receive_json(self, predicate, seconds):
        """Reads messages until one satisfies predicate; returns (match, all messages read)."""
        deadline, seen = time.time() + seconds, []
        while time.time() < deadline:
            try:
                text = self.receive(max(0.1, deadline - time.time()))
            except socket.timeout:
                break
            message = json.loads(text)
            seen.append(message)
            if predicate(message):
                return message, seen
        return None, seen

    def close(self):
        try:
            self.send(b"\x03\xe8", opcode=8)
        except OSError:
            pass
        self.sock.close()
