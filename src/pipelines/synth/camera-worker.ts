/** Worker body: makes the frames the main thread asks for, in order (see cameras.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { type CameraSetup, type FrameRequest, FrameMaker } from "./cameras.ts";

const port = parentPort;
if (port) {
  const maker = new FrameMaker(workerData as CameraSetup);
  port.on("message", (request: FrameRequest) => {
    try {
      const bytes = maker.make(request);
      port.postMessage({ bytes }, [bytes.buffer as ArrayBuffer]);
    } catch (error) {
      port.postMessage({ error: String(error) });
    }
  });
  port.postMessage("ready");
}
