// Boost.JSON compiled into the gateway (header-only mode), so no extra library is needed.
#include <boost/json/src.hpp>
