// Runs blocking work on the worker pool from a coroutine on the network thread, and resumes
// the coroutine on its own executor with the result (or rethrows the exception).
// Pass lambdas that capture by reference only: GCC 12 can destroy temporaries of a co_await
// full-expression twice, which is harmless for references and fatal for owning captures.
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace countylink::server {

// `fn` runs on `pool`; its result type must be default-constructible (used on exception).
template <typename Fn>
auto run_on(boost::asio::thread_pool& pool, Fn fn) {
    using Result = std::invoke_result_t<Fn&>;
    namespace asio = boost::asio;
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr, Result)>(
        [&pool](auto handler, Fn work) {
            asio::post(pool, [handler = std::move(handler), work = std::move(work)]() mutable {
                std::exception_ptr error;
                Result result{};
                try {
                    result = work();
                } catch (...) {
                    error = std::current_exception();
                }
                auto executor = asio::get_associated_executor(handler);
                asio::dispatch(executor, [handler = std::move(handler), error,
                                          result = std::move(result)]() mutable {
                    std::move(handler)(error, std::move(result));
                });
            });
        },
        asio::use_awaitable, std::move(fn));
}

}  // namespace countylink::server
