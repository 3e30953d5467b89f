/**
 * The capture view's three.js scene in the trajectory's fixed frame (z up): the ego trajectory (driven
 * part highlighted), the ego pose, one lidar frame, and agents' boxes. Renders on demand only.
 */
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import type { Box, Pose, Vec3 } from "./ros.ts";

const CLASS_COLORS: Record<string, number> = {
  car: 0xf08c00,
  pedestrian: 0xe03131,
  cyclist: 0x9c36b5,
  truck: 0xf59f00,
};

export class Scene3D {
  readonly #renderer: THREE.WebGLRenderer;
  readonly #scene = new THREE.Scene();
  readonly #camera: THREE.PerspectiveCamera;
  readonly #controls: OrbitControls;
  readonly #resize: ResizeObserver;
  #trajectory?: THREE.Line;
  #driven?: THREE.Line;
  #trajectoryPoints: Vec3[] = [];
  readonly #ego = new THREE.Group();
  #cloud?: THREE.Points;
  readonly #boxes = new THREE.Group();
  readonly #frusta = new THREE.Group();
  #frame = 0;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.#renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
    this.#renderer.setPixelRatio(window.devicePixelRatio || 1);
    this.#scene.background = new THREE.Color(0x11151a);
    this.#camera = new THREE.PerspectiveCamera(55, 1, 0.1, 20_000);
    this.#camera.up.set(0, 0, 1);
    this.#camera.position.set(-20, -20, 25);
    this.#controls = new OrbitControls(this.#camera, canvas);
    this.#controls.addEventListener("change", () => this.render());

    const grid = new THREE.GridHelper(400, 80, 0x3b4650, 0x222a31);
    grid.rotation.x = Math.PI / 2;
    this.#scene.add(grid, new THREE.AxesHelper(2), this.#boxes, this.#frusta, this.#ego);
    this.#scene.add(new THREE.AmbientLight(0xffffff, 0.8));

    const body = new THREE.Mesh(
      new THREE.BoxGeometry(4.5, 1.9, 1.5),
      new THREE.MeshBasicMaterial({ color: 0x2f9e44, transparent: true, opacity: 0.5 }),
    );
    body.position.set(1.4, 0, 0.75);
    const heading = new THREE.ArrowHelper(
      new THREE.Vector3(1, 0, 0),
      new THREE.Vector3(0, 0, 1.6),
      4,
      0x69db7c,
    );
    this.#ego.add(body, heading);
    this.#ego.visible = false;

    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(canvas);
    this.#fit();
  }

  #fit(): void {
    const width = this.canvas.clientWidth || 800;
    const height = this.canvas.clientHeight || 500;
    this.#renderer.setSize(width, height, false);
    this.#camera.aspect = width / height;
    this.#camera.updateProjectionMatrix();
    this.render();
  }

  setTrajectory(points: Vec3[]): void {
    this.#trajectoryPoints = points;
    for (const line of [this.#trajectory, this.#driven]) {
      if (!line) continue;
      this.#scene.remove(line);
      line.geometry.dispose();
    }
    const geometry = new THREE.BufferGeometry().setFromPoints(
      points.map((p) => new THREE.Vector3(p.x, p.y, p.z)),
    );
    this.#trajectory = new THREE.Line(geometry, new THREE.LineBasicMaterial({ color: 0x868e96 }));
    this.#driven = new THREE.Line(
      new THREE.BufferGeometry(),
      new THREE.LineBasicMaterial({ color: 0x4dabf7 }),
    );
    this.#scene.add(this.#trajectory, this.#driven);
    if (points.length > 0) {
      const box = new THREE.Box3().setFromPoints(points.map((p) => new THREE.Vector3(p.x, p.y, p.z)));
      const center = box.getCenter(new THREE.Vector3());
      const extent = box.getSize(new THREE.Vector3()).length();
      const radius = Math.max(10, extent / 2);
      // A car-sized ego marker on a small indoor robot's path would hide the path.
      this.#ego.scale.setScalar(Math.min(1, Math.max(0.05, extent / 15)));
      this.#controls.target.copy(center);
      this.#camera.position.set(center.x - radius * 0.6, center.y - radius * 0.9, center.z + radius * 0.9);
      this.#controls.update();
    }
    this.render();
  }

  /** Moves the ego to `worldFromBase`, highlighting the trajectory up to `index`. */
  setEgo(worldFromBase: Pose | undefined, index: number): void {
    this.#ego.visible = worldFromBase !== undefined;
    if (worldFromBase) {
      this.#ego.position.set(worldFromBase.t.x, worldFromBase.t.y, worldFromBase.t.z);
      this.#ego.quaternion.set(worldFromBase.q.x, worldFromBase.q.y, worldFromBase.q.z, worldFromBase.q.w);
    }
    if (this.#driven) {
      this.#driven.geometry.dispose();
      this.#driven.geometry = new THREE.BufferGeometry().setFromPoints(
        this.#trajectoryPoints.slice(0, index + 1).map((p) => new THREE.Vector3(p.x, p.y, p.z + 0.05)),
      );
    }
    this.render();
  }

  /** Points already in the world frame; values color them (intensity or height). */
  setCloud(positions: Float32Array | undefined, values?: Float32Array): void {
    if (this.#cloud) {
      this.#scene.remove(this.#cloud);
      this.#cloud.geometry.dispose();
      this.#cloud = undefined;
    }
    if (positions && positions.length > 0) {
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute("position", new THREE.BufferAttribute(positions, 3));
      const colors = new Float32Array(positions.length);
      let min = Infinity;
      let max = -Infinity;
      for (const v of values ?? []) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const span = max - min || 1;
      const color = new THREE.Color();
      for (let i = 0; i < positions.length / 3; i++) {
        const level = values ? ((values[i] ?? min) - min) / span : 0.5;
        color.setHSL(0.66 - 0.66 * level, 0.9, 0.55);
        colors.set([color.r, color.g, color.b], i * 3);
      }
      geometry.setAttribute("color", new THREE.BufferAttribute(colors, 3));
      this.#cloud = new THREE.Points(geometry, new THREE.PointsMaterial({ size: 0.08, vertexColors: true }));
      this.#scene.add(this.#cloud);
    }
    this.render();
  }

  /** Boxes already in the world frame. */
  setBoxes(boxes: readonly Box[]): void {
    for (const child of [...this.#boxes.children]) {
      this.#boxes.remove(child);
      if (child instanceof THREE.LineSegments) child.geometry.dispose();
    }
    for (const box of boxes) {
      const edges = new THREE.EdgesGeometry(new THREE.BoxGeometry(box.size.x, box.size.y, box.size.z));
      const color = CLASS_COLORS[box.label.toLowerCase()] ?? 0xffd43b;
      const lines = new THREE.LineSegments(edges, new THREE.LineBasicMaterial({ color }));
      lines.position.set(box.center.x, box.center.y, box.center.z);
      lines.quaternion.set(box.q.x, box.q.y, box.q.z, box.q.w);
      this.#boxes.add(lines);
    }
    this.render();
  }

  /** Frusta as world-frame points: apex then four corners each. */
  setFrusta(frusta: readonly Vec3[][]): void {
    for (const child of [...this.#frusta.children]) {
      this.#frusta.remove(child);
      if (child instanceof THREE.LineSegments) child.geometry.dispose();
    }
    for (const points of frusta) {
      const [apex, ...corners] = points.map((p) => new THREE.Vector3(p.x, p.y, p.z));
      if (!apex || corners.length !== 4) continue;
      const segments: THREE.Vector3[] = [];
      corners.forEach((c, i) => segments.push(apex, c, c, corners[(i + 1) % 4] ?? c));
      const geometry = new THREE.BufferGeometry().setFromPoints(segments);
      this.#frusta.add(new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: 0x66d9e8 })));
    }
    this.render();
  }

  follow(point: Vec3): void {
    const offset = this.#camera.position.clone().sub(this.#controls.target);
    this.#controls.target.set(point.x, point.y, point.z);
    this.#camera.position.copy(this.#controls.target).add(offset);
    this.#controls.update();
    this.render();
  }

  render(): void {
    if (this.#frame) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#renderer.render(this.#scene, this.#camera);
      this.canvas.dataset.rendered = String(Number(this.canvas.dataset.rendered ?? 0) + 1);
    });
  }

  dispose(): void {
    cancelAnimationFrame(this.#frame);
    this.#resize.disconnect();
    this.#controls.dispose();
    this.#renderer.dispose();
  }
}
