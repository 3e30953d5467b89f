/** Worker body: runs the jobs the main thread sends, in order (see sensor-work.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { jobFor, type SensorSetup } from "./sensor-work.ts";

const port = parentPort;
if (port) {
  const job = jobFor(workerData as SensorSetup);
  port.on("message", (request: unknown) => {
    try {
      const { result, transfer } = job(request);
      port.postMessage({ result }, transfer);
    } catch (error) {
      port.postMessage({ error: String(error) });
    }
  });
  port.postMessage("ready");
}
