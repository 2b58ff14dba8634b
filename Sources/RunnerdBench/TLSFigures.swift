import Glibc
import RunnerProtocol
import SpawnerClient

/// The spawner over HTTPS against plain HTTP (issue 16), two spawners of the same build side by
/// side, the TLS one with a certificate made for the run:
/// - `spawner_exec_roundtrip_plain_p50_ms` / `_tls_p50_ms`: `/bin/true` through each until its
///   `exit` event, one after another (`SpawnerClient`; the connection is kept alive, so the
///   handshake is paid once and the figure is the cost of the records);
/// - `proxy_stream_plain_mb_per_s` / `_tls_mb_per_s`: `head -c streamBytes /dev/zero` through
///   each one's SSE relay, the median of `rounds` alternated runs each.
struct TLSFigures {
    var plainExec: Sample
    var tlsExec: Sample
    var plainStreams: [Double]
    var tlsStreams: [Double]

    func report() {
        RunnerdBench.report("spawner_exec_roundtrip_plain_p50_ms", plainExec.percentile(50), "ms")
        RunnerdBench.report("spawner_exec_roundtrip_tls_p50_ms", tlsExec.percentile(50), "ms")
        RunnerdBench.report("spawner_exec_roundtrip_tls_p99_ms", tlsExec.percentile(99), "ms")
        RunnerdBench.report("proxy_stream_plain_mb_per_s", median(plainStreams), "MB/s")
        RunnerdBench.report("proxy_stream_tls_mb_per_s", median(tlsStreams), "MB/s")
        RunnerdBench.report("proxy_stream_tls_over_plain_ratio", median(tlsStreams) / median(plainStreams), "x")
    }
}

func measureTLSFigures(
    plain: SpawnerUnderTest, spawnerBinary: String, runnerdBinary: String, scratch: String, streamBytes: Int, rounds: Int = 5, count: Int = 200
) async throws -> TLSFigures {
    let certificates = try BenchCertificates(directory: scratch)
    let secure = try await SpawnerUnderTest(
        binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch, certificates: certificates, name: "spawner-tls")
    do {
        let figures = try await compare(plain, secure, streamBytes: streamBytes, rounds: rounds, count: count)
        await secure.stopAndShutDown()
        return figures
    } catch {
        await secure.stopAndShutDown()
        throw error
    }
}

private func compare(_ plain: SpawnerUnderTest, _ secure: SpawnerUnderTest, streamBytes: Int, rounds: Int, count: Int) async throws -> TLSFigures {
    let sessionId = "tls-compare"
    try await plain.createSession(sessionId)
    try await secure.createSession(sessionId)
    let plainExec = try await execRoundTrips(plain.spawnerClient, sessionId, count: count, warmUp: 20)
    let tlsExec = try await execRoundTrips(secure.spawnerClient, sessionId, count: count, warmUp: 20)
    var plainStreams: [Double] = []
    var tlsStreams: [Double] = []
    for round in 0..<rounds {
        plainStreams.append(try await throughput(streamBytes, execId: "plain-\(round)") { try await plain.exec(sessionId, $0) })
        tlsStreams.append(try await throughput(streamBytes, execId: "tls-\(round)") { try await secure.exec(sessionId, $0) })
    }
    try await plain.deleteSession(sessionId)
    try await secure.deleteSession(sessionId)
    return TLSFigures(plainExec: plainExec, tlsExec: tlsExec, plainStreams: plainStreams, tlsStreams: tlsStreams)
}

/// Only the HTTPS-against-HTTP figures (`--only tls`).
func measureTLSOnly(spawnerBinary: String, runnerdBinary: String, streamBytes: Int, rounds: Int) async throws {
    let scratch = "/tmp/spawner-bench-\(getpid())"
    mkdir(scratch, 0o711)
    defer { removeTree(scratch) }
    let spawner = try await SpawnerUnderTest(binary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch)
    defer { spawner.stop() }
    try await measureTLSFigures(
        plain: spawner, spawnerBinary: spawnerBinary, runnerdBinary: runnerdBinary, scratch: scratch, streamBytes: streamBytes, rounds: rounds
    ).report()
}
