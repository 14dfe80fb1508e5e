// Retention: the purge of studies the county is done with, run by the server itself every night
// at [retention] run_at_hour (local time) once purge_after_days is set, so a data disk nobody
// watches does not fill. It runs the admin API's purge (server::purge_online); a run missed while
// the server was down happens as soon as it is back.
#pragma once

#include <cstdint>
#include <optional>

#include <boost/asio/awaitable.hpp>

#include "gateway/server/context.hpp"

namespace countylink::server {

// When the purge is next due, in Unix seconds: `now_s` if the latest run time at or before now
// (run_at_hour, local time) came after `last_run_s` (or there was no run), else the next one.
int64_t next_retention_run(int64_t now_s, std::optional<int64_t> last_run_s, int run_at_hour);

// Sleeps until due, purges, records the run in <data_dir>/retention.last, forever; returns at
// once when retention is off. A failed run is logged and tried again an hour later.
boost::asio::awaitable<void> run_retention(Context& ctx);

}  // namespace countylink::server
