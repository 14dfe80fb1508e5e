// What the protocol front ends share: the config, the worker pool, the ingest pipeline and the
// read side of storage. Owned by main; front ends hold a reference.
#pragma once

#include <atomic>
#include <filesystem>

#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "gateway/audit/audit_log.hpp"
#include "gateway/auth/authenticator.hpp"
#include "gateway/ingest/pipeline.hpp"
#include "gateway/ingest/spool_file.hpp"
#include "gateway/metrics/gateway_metrics.hpp"
#include "gateway/metrics/registry.hpp"
#include "gateway/queue/reading_queues.hpp"
#include "gateway/server/health.hpp"
#include "gateway/server/log.hpp"
#include "gateway/store/blob_store.hpp"
#include "gateway/store/group_commit.hpp"
#include "gateway/store/index.hpp"

namespace countylink::server {

struct Context {
    const config::Config& config;
    boost::asio::thread_pool& workers;  // parsing, compression, fsync: never the network thread
    ingest::Pipeline& pipeline;
    store::Index& index;
    store::BlobStore& blobs;
    store::GroupCommit& commits;  // an online purge runs between its batches
    queue::ReadingQueues& queues;
    const auth::Authenticator& auth;
    audit::AuditTrail& audit;
    metrics::Registry& registry;
    metrics::GatewayMetrics& metrics;
    Health& health;
    Log& log;
    ingest::Spool& spool;
    std::atomic<uint32_t> open_associations{0};
    // Bytes of Storage Commitment requests held in memory by all associations together.
    std::atomic<uint64_t> commitment_request_bytes{0};
};

}  // namespace countylink::server
