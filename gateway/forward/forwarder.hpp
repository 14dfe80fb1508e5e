// The forwarder: one coroutine per destination takes due outbox items, sends them over one
// association (STAT first), and records delivery, a retry with backoff and jitter, or a dead
// letter. A dead destination only delays its own items: each has its own loop and timers.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/forward/outbox.hpp"
#include "gateway/metrics/gateway_metrics.hpp"
#include "gateway/server/log.hpp"
#include "gateway/store/blob_store.hpp"

namespace countylink::forward {

// Delay before attempt `attempts + 1`: initial * 2^attempts, capped, times a jitter in
// [0.8, 1.2] so that many items (and gateways) do not retry in lockstep.
int64_t backoff_ms(const config::ForwardSettings& settings, int attempts, double jitter);

class Forwarder {
  public:
    // Deliveries and dead letters go to `audit` (retries are in the metrics and the log).
    Forwarder(const config::Config& config, Outbox& outbox, store::BlobStore& blobs,
              boost::asio::thread_pool& workers, metrics::GatewayMetrics& metrics, server::Log& log,
              audit::AuditTrail& audit)
        : config_(config),
          outbox_(outbox),
          blobs_(blobs),
          workers_(workers),
          metrics_(metrics),
          log_(log),
          audit_(audit) {}

    // Starts one loop per configured destination on `io`; they run until it stops.
    void start(boost::asio::io_context& io);

  private:
    boost::asio::awaitable<void> run(const config::ForwardDestination& destination);
    boost::asio::awaitable<void> send_batch(const config::ForwardDestination& destination,
                                            std::vector<OutboxItem> items);
    void audit_item(const config::ForwardDestination& destination, const OutboxItem& item,
                    const std::string& failure);

    const config::Config& config_;
    Outbox& outbox_;
    store::BlobStore& blobs_;
    boost::asio::thread_pool& workers_;
    metrics::GatewayMetrics& metrics_;
    server::Log& log_;
    audit::AuditTrail& audit_;
};

}  // namespace countylink::forward
