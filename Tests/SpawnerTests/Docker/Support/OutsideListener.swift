import Foundation

/// "The outside", made by the test: a network namespace joined to the host by a veth pair,
/// with an HTTP listener in it on an address of TEST-NET-1 (192.0.2.0/24). A sandbox that has
/// a route out reaches it through the host's forwarding, as it would the internet; one on an
/// internal network does not. No packet leaves the machine.
struct OutsideListener {
    let namespace: String
    let hostInterface: String
    let address: String
    let port = 8000

    /// Sets it up (root only); `stop()` removes it.
    static func start() async throws -> OutsideListener {
        let tag = String(UInt16.random(in: 0...UInt16.max), radix: 16)
        let subnet = Int.random(in: 1...62) * 4
        let listener = OutsideListener(namespace: "sbx-outside-\(tag)", hostInterface: "sbxo\(tag)", address: "192.0.2.\(subnet + 2)")
        let script = """
            set -e
            ip netns add \(listener.namespace)
            ip link add \(listener.hostInterface) type veth peer name eth0 netns \(listener.namespace)
            ip addr add 192.0.2.\(subnet + 1)/30 dev \(listener.hostInterface)
            ip link set \(listener.hostInterface) up
            ip -n \(listener.namespace) addr add \(listener.address)/30 dev eth0
            ip -n \(listener.namespace) link set eth0 up
            ip -n \(listener.namespace) link set lo up
            mkdir -p /tmp/\(listener.namespace) && echo outside > /tmp/\(listener.namespace)/index.html
            cd /tmp/\(listener.namespace)
            # The server closes every descriptor it inherited first: it outlives this script, and
            # must not hold a pipe of the test process open.
            setsid ip netns exec \(listener.namespace) python3 -c 'import os, sys; os.closerange(3, 1 << 16); sys.argv[1:] = ["\(listener.port)", "--bind", "\(listener.address)"]; import runpy; runpy.run_module("http.server", run_name="__main__")' >/dev/null 2>&1 < /dev/null &
            for i in $(seq 1 100); do
                ip netns exec \(listener.namespace) curl -s -o /dev/null -m 1 http://\(listener.address):\(listener.port)/ && exit 0
                sleep 0.1
            done
            exit 1
            """
        let result = await DockerCLI.collect(DockerCLI.command(["sh", "-c", script]))
        guard result.status == 0 else {
            listener.stop()
            throw DockerTestEnvironment.DockerUnavailable(reason: "could not set up the outside listener: \(result.stderr)")
        }
        return listener
    }

    var url: String { "http://\(address):\(port)/" }

    /// Kills the listener and removes the namespace, the veth pair and the files.
    func stop() {
        let script = """
            for pid in $(ip netns pids \(namespace) 2>/dev/null); do kill -9 $pid; done
            ip link del \(hostInterface) 2>/dev/null
            ip netns del \(namespace) 2>/dev/null
            rm -rf /tmp/\(namespace)
            true
            """
        _ = DockerCLI.collectSync(DockerCLI.command(["sh", "-c", script]))
    }
}
