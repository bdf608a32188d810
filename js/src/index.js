// Salamander's browser client. Loaded with <script defer>: on DOMContentLoaded it connects every
// root live view on the page, unless the page made its own LiveSocket (window.liveSocket) first.
import { LiveSocket } from "./live_socket.js";

if (typeof window !== "undefined") {
  window.Salamander = { LiveSocket };
  let boot = () => {
    if (!window.liveSocket) new LiveSocket("/live", { hooks: window.SalamanderHooks }).connect();
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else setTimeout(boot, 0);
}

export { LiveSocket };
