// Small networking helpers shared by the services.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "canvoy/common/error.h"

namespace canvoy::net {

// Opens, binds (SO_REUSEADDR) and listens; errors name `what`, the address and the port.
Status Listen(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
              const std::string& what);

// Writes "<port>\n" to `path` through a rename, so a reader never sees a partial file.
// Does nothing when `path` is empty. Tests and scripts start services on port 0 and read this.
Status WritePortFile(const std::filesystem::path& path, std::uint16_t port);

}  // namespace canvoy::net
