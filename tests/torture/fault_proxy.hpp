// A fault-injecting TCP proxy for tests: sits in front of a real peer (storescp) and, per new
// connection, passes bytes through, refuses, resets after some bytes, stalls, or trickles.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace countylink::testing {

class FaultProxy {
  public:
    enum class Mode {
        pass,         // forwards both ways
        refuse,       // accepts and resets at once (a peer that is down)
        reset_after,  // forwards `limit` bytes towards the peer, then resets both sides
        stall,        // accepts, reads and forwards nothing (a hung peer)
        slow,         // forwards towards the peer in 1 KiB pieces, 2 ms apart
    };

    // Listens on an ephemeral loopback port; connects each client to 127.0.0.1:upstream_port.
    explicit FaultProxy(uint16_t upstream_port);
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    uint16_t port() const { return port_; }
    // Applies to connections accepted from now on.
    void set(Mode mode, std::size_t limit = 0);
    // Connections accepted so far, and how many of them met a fault.
    int connections() const { return connections_.load(); }
    int faulted() const { return faulted_.load(); }

  private:
    void accept_loop();
    void serve(int client, Mode mode, std::size_t limit);

    uint16_t upstream_port_, port_ = 0;
    int listen_fd_ = -1;
    std::atomic<Mode> mode_{Mode::pass};
    std::atomic<std::size_t> limit_{0};
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0}, faulted_{0};
    std::mutex mutex_;
    std::vector<std::thread> sessions_;
    std::thread acceptor_;
};

}  // namespace countylink::testing
