// The gateway's metric families, registered once in main and handed to each stage.
#pragma once

#include "gateway/metrics/registry.hpp"

namespace countylink::metrics {

struct GatewayMetrics {
    explicit GatewayMetrics(Registry& r)
        : associations_active(
              r.gauge("countylink_associations_active", "DICOM associations currently open", {})
                  .with({})),
          associations_total(r.counter("countylink_associations_total",
                                       "DICOM associations by how they ended", {"outcome"})),
          objects_total(r.counter("countylink_objects_total",
                                  "Objects received, by outcome, township and modality",
                                  {"outcome", "township", "modality"})),
          findings_total(r.counter("countylink_validation_findings_total",
                                   "Validation findings by code", {"code"})),
          ecg_total(r.counter("countylink_ecg_total",
                              "ECG recordings judged by the quality gate, by township, format "
                              "and verdict",
                              {"township", "format", "verdict"})),
          ecg_findings_total(
              r.counter("countylink_ecg_findings_total", "ECG quality findings by code", {"code"})),
          bytes_raw_total(r.counter("countylink_bytes_raw_total",
                                    "Bytes of objects stored, as received", {"township"})),
          bytes_stored_total(r.counter("countylink_bytes_stored_total",
                                       "Bytes of objects stored, after compression", {"township"})),
          refusals_total(r.counter("countylink_protocol_refusals_total",
                                   "Associations rejected or aborted, by reason", {"reason"})),
          commitment_instances_total(
              r.counter("countylink_storage_commitment_instances_total",
                        "Instances equipment asked us to commit (Storage Commitment), by township "
                        "and whether we committed them",
                        {"township", "result"})),
          commitment_reports_total(
              r.counter("countylink_storage_commitment_reports_total",
                        "Storage Commitment reports by how they went: delivered on the asking "
                        "association or on one of our own, or not delivered",
                        {"outcome"})),
          find_requests_total(r.counter("countylink_dicom_find_requests_total",
                                        "C-FIND queries by level and whether they were answered "
                                        "or refused (bad identifier, too broad)",
                                        {"level", "outcome"})),
          move_instances_total(r.counter("countylink_dicom_move_instances_total",
                                         "Instances C-MOVE sent (or failed to send), by "
                                         "destination AE title",
                                         {"destination", "outcome"})),
          retention_last_run(r.gauge("countylink_retention_last_run_timestamp_seconds",
                                     "When the nightly retention purge last completed (Unix time)",
                                     {})
                                 .with({})),
          retention_purged_studies_total(r.counter("countylink_retention_purged_studies_total",
                                                   "Studies removed by the nightly retention purge",
                                                   {})
                                             .with({})),
          stage_latency(r.histogram("countylink_stage_latency_seconds",
                                    "Time spent per pipeline stage", {"stage"}, latency_buckets())),
          queue_depth(r.gauge("countylink_queue_depth",
                              "Worklist items pending or claimed, per queue and priority",
                              {"queue", "priority"})),
          queue_oldest_age(r.gauge("countylink_queue_oldest_age_seconds",
                                   "Age of the oldest pending or claimed item since queued",
                                   {"queue", "priority"})),
          turnaround(r.histogram("countylink_turnaround_seconds",
                                 "Clinical turnaround per span (received_to_queued, "
                                 "queued_to_claimed, claimed_to_reported, received_to_reported)",
                                 {"queue", "priority", "span"}, turnaround_buckets())),
          sla_breaches_total(r.counter("countylink_sla_breaches_total",
                                       "Items reported later than their priority's target",
                                       {"queue", "priority"})),
          forward_backlog(r.gauge("countylink_forward_backlog",
                                  "Outbox items waiting to be delivered", {"destination"})),
          forward_oldest_age(r.gauge("countylink_forward_oldest_age_seconds",
                                     "Age of the oldest undelivered outbox item", {"destination"})),
          forward_dead(r.gauge("countylink_forward_dead_letters",
                               "Outbox items given up on (see countylinkctl forward list)",
                               {"destination"})),
          forward_attempts_total(r.counter("countylink_forward_attempts_total",
                                           "Forward attempts by outcome (delivered, failed, dead)",
                                           {"destination", "outcome"})),
          forward_send_seconds(r.histogram("countylink_forward_send_seconds",
                                           "Time to send one batch over one association",
                                           {"destination"}, latency_buckets())),
          township_last_seen(r.gauge("countylink_township_last_seen_timestamp_seconds",
                                     "When a township last had an object stored (Unix time)",
                                     {"township"})),
          data_dir_free_bytes(r.gauge("countylink_data_dir_free_bytes",
                                      "Free bytes on the data directory's filesystem", {})
                                  .with({})),
          data_dir_size_bytes(r.gauge("countylink_data_dir_size_bytes",
                                      "Size of the data directory's filesystem", {})
                                  .with({})),
          index_size_bytes(
              r.gauge("countylink_index_size_bytes", "Size of the index database and its WAL", {})
                  .with({})),
          spool_bytes(
              r.gauge("countylink_spool_bytes", "Bytes of objects being received", {}).with({})),
          turnaround_target(r.gauge("countylink_turnaround_target_seconds",
                                    "Configured turnaround target per priority", {"priority"})),
          build_info(r.gauge("countylink_build_info", "Always 1; labels say which build runs",
                             {"version"})),
          resident_memory_bytes(
              r.gauge("process_resident_memory_bytes", "Resident memory size in bytes", {})
                  .with({})),
          open_fds(r.gauge("process_open_fds", "Number of open file descriptors", {}).with({})),
          start_time_seconds(r.gauge("process_start_time_seconds",
                                     "Start time of the process since the Unix epoch", {})
                                 .with({})),
          tls_certificate_expiry(r.gauge(
              "countylink_tls_certificate_expiry_timestamp_seconds",
              "notAfter of the TLS server certificate in use (Unix time)", {"certificate"})) {}

    Gauge& associations_active;
    Family<Counter>& associations_total;
    Family<Counter>& objects_total;
    Family<Counter>& findings_total;
    Family<Counter>& ecg_total;
    Family<Counter>& ecg_findings_total;
    Family<Counter>& bytes_raw_total;
    Family<Counter>& bytes_stored_total;
    Family<Counter>& refusals_total;
    Family<Counter>& commitment_instances_total;
    Family<Counter>& commitment_reports_total;
    Family<Counter>& find_requests_total;
    Family<Counter>& move_instances_total;
    Gauge& retention_last_run;
    Counter& retention_purged_studies_total;
    Family<Histogram>& stage_latency;
    Family<Gauge>& queue_depth;
    Family<Gauge>& queue_oldest_age;
    Family<Histogram>& turnaround;
    Family<Counter>& sla_breaches_total;
    Family<Gauge>& forward_backlog;
    Family<Gauge>& forward_oldest_age;
    Family<Gauge>& forward_dead;
    Family<Counter>& forward_attempts_total;
    Family<Histogram>& forward_send_seconds;
    Family<Gauge>& township_last_seen;
    Gauge& data_dir_free_bytes;
    Gauge& data_dir_size_bytes;
    Gauge& index_size_bytes;
    Gauge& spool_bytes;
    Family<Gauge>& turnaround_target;
    Family<Gauge>& build_info;
    Gauge& resident_memory_bytes;
    Gauge& open_fds;
    Gauge& start_time_seconds;
    Family<Gauge>& tls_certificate_expiry;
};

}  // namespace countylink::metrics
