#include "tests/torture/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

namespace countylink::testing {
namespace {

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

// Closes with an RST instead of a FIN: what a crashed or reset peer looks like.
void reset(int fd) {
    const linger hard{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
}

bool send_all(int fd, const char* data, std::size_t n) {
    while (n > 0) {
        const ssize_t sent = ::send(fd, data, n, MSG_NOSIGNAL);
        if (sent <= 0) return false;
        data += sent;
        n -= static_cast<std::size_t>(sent);
    }
    return true;
}

}  // namespace

FaultProxy::FaultProxy(uint16_t upstream_port) : upstream_port_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    auto addr = loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
        ::close(listen_fd_);
        throw std::runtime_error("fault proxy: cannot listen");
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::lock_guard lock(mutex_);
    for (auto& t : sessions_) t.join();
}

void FaultProxy::set(Mode mode, std::size_t limit) {
    limit_ = limit;
    mode_ = mode;
}

void FaultProxy::accept_loop() {
    while (!stop_) {
        const int client = ::accept(listen_fd_, nullptr, nullptr);
        if (client < 0) continue;  // shut down (stop_ is set) or a transient error
        ++connections_;
        const Mode mode = mode_.load();
        const std::size_t limit = limit_.load();
        if (mode == Mode::refuse) {
            ++faulted_;
            reset(client);
            continue;
        }
        std::lock_guard lock(mutex_);
        sessions_.emplace_back([this, client, mode, limit] { serve(client, mode, limit); });
    }
}

void FaultProxy::serve(int client, Mode mode, std::size_t limit) {
    const int upstream = ::socket(AF_INET, SOCK_STREAM, 0);
    const auto addr = loopback(upstream_port_);
    if (::connect(upstream, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        reset(client);
        ::close(upstream);
        return;
    }
    std::size_t towards_peer = 0;
    bool faulted = false;
    char buffer[16 * 1024];
    while (!stop_) {
        pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
        // A stalled connection reads nothing: it only waits to be stopped.
        if (::poll(fds, mode == Mode::stall ? 0 : 2, 100) <= 0) {
            if (mode == Mode::stall && !faulted) {
                faulted = true;
                ++faulted_;
            }
            continue;
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::recv(upstream, buffer, sizeof buffer, 0);
            if (n <= 0 || !send_all(client, buffer, static_cast<std::size_t>(n))) break;
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t got = ::recv(client, buffer, sizeof buffer, 0);
            if (got <= 0) break;
            std::size_t n = static_cast<std::size_t>(got);
            if (mode == Mode::reset_after && towards_peer + n >= limit) {
                send_all(upstream, buffer, limit - std::min(limit, towards_peer));
                ++faulted_;
                reset(upstream);
                reset(client);
                return;
            }
            if (mode == Mode::slow) {
                for (std::size_t at = 0; at < n; at += 1024) {
                    if (!send_all(upstream, buffer + at, std::min<std::size_t>(1024, n - at)))
                        break;
                    ::poll(nullptr, 0, 2);
                }
                if (!faulted) {
                    faulted = true;
                    ++faulted_;
                }
            } else if (!send_all(upstream, buffer, n)) {
                break;
            }
            towards_peer += n;
        }
    }
    ::close(upstream);
    ::close(client);
}

}  // namespace countylink::testing
