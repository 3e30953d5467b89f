/**
 * A tiny rasteriser for the synthetic cameras. Boxes (buildings, parked cars, kiosks, agents) are
 * drawn as flat-shaded convex polygons with an inverse-depth buffer; every pixel they leave empty is
 * then ray-cast to the ground plane (road markings from the town's ground function) or the sky.
 * Pixel (i, j) samples the ray through (u, v) = (i, j), the ROS convention for camera_info K.
 * Output is full-resolution YCbCr planes, ready for the JPEG encoder.
 */
import type { YCbCrImage } from "./jpeg.ts";
import { GROUND, GROUND_COUNT, groundSampler, type Rgb, type Town } from "./town.ts";

export interface PinholeModel {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

/** An upright box in odom: centre (x, y), yaw, size; bottom on the ground. */
export interface RenderBox {
  centerX: number;
  centerY: number;
  yawRad: number;
  length: number;
  width: number;
  height: number;
  colorRgb: Rgb;
  /** Emissive boxes (kiosks) ignore sun shading and haze. */
  emissive: boolean;
}

/** camera ← odom: p_cam = R p_odom + t, R row-major. */
export interface CameraFromOdom {
  r: Float64Array;
  t: Float64Array;
}

export interface Lighting {
  /** Unit vector towards the sun, in odom. */
  sunX: number;
  sunY: number;
  sunZ: number;
  /** Overall brightness multiplier (1 by day, ~0.3 at night). */
  exposure: number;
  /** Distance (m) at which haze reaches 50 %. */
  hazeHalfDistanceM: number;
  night: boolean;
  /** Overcast: a grey sky and grey haze. */
  overcast: boolean;
}

const GROUND_RGB: Rgb[] = [];
GROUND_RGB[GROUND.grass] = [78, 120, 56];
GROUND_RGB[GROUND.asphalt] = [74, 74, 78];
GROUND_RGB[GROUND.sidewalk] = [160, 157, 150];
GROUND_RGB[GROUND.white] = [226, 226, 220];
GROUND_RGB[GROUND.yellow] = [214, 178, 52];

const NEAR_Z = 0.05;

/** Corner indices (see drawBox) of the faces +x, −x, +y, −y and top, in order around each face. */
const FACE_CORNERS = new Uint8Array([1, 3, 7, 5, 2, 0, 4, 6, 3, 2, 6, 7, 0, 1, 5, 4, 5, 7, 6, 4]);

const toY = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;
const toCb = (r: number, g: number, b: number): number => 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
const toCr = (r: number, g: number, b: number): number => 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;

export class CameraRenderer {
  readonly image: YCbCrImage;
  private readonly invDepth: Float32Array;
  private readonly rowMaterial: Int8Array;
  private readonly groundY = new Float64Array(GROUND_COUNT);
  private readonly groundCb = new Float64Array(GROUND_COUNT);
  private readonly groundCr = new Float64Array(GROUND_COUNT);
  // Scratch polygon (camera coordinates, then pixels).
  private readonly px = new Float64Array(16);
  private readonly py = new Float64Array(16);
  private readonly pz = new Float64Array(16);
  private readonly qx = new Float64Array(16);
  private readonly qy = new Float64Array(16);
  private readonly qz = new Float64Array(16);
  private readonly cornerX = new Float64Array(8);
  private readonly cornerY = new Float64Array(8);
  private readonly cornerZ = new Float64Array(8);

  constructor(readonly model: PinholeModel) {
    const n = model.width * model.height;
    this.image = {
      width: model.width,
      height: model.height,
      y: new Uint8Array(n),
      cb: new Uint8Array(n),
      cr: new Uint8Array(n),
    };
    this.invDepth = new Float32Array(n);
    this.rowMaterial = new Int8Array(model.width + 1);
  }

  /** Renders the static boxes and then the moving ones (the depth buffer sorts them out). */
  render(
    town: Town,
    staticBoxes: readonly RenderBox[],
    movingBoxes: readonly RenderBox[],
    pose: CameraFromOdom,
    light: Lighting,
  ): YCbCrImage {
    this.invDepth.fill(0);
    const r = pose.r;
    const t = pose.t;
    // Camera centre in odom: C = −Rᵀ t.
    const camX = -(
      (r[0] as number) * (t[0] as number) +
      (r[3] as number) * (t[1] as number) +
      (r[6] as number) * (t[2] as number)
    );
    const camY = -(
      (r[1] as number) * (t[0] as number) +
      (r[4] as number) * (t[1] as number) +
      (r[7] as number) * (t[2] as number)
    );
    const camZ = -(
      (r[2] as number) * (t[0] as number) +
      (r[5] as number) * (t[1] as number) +
      (r[8] as number) * (t[2] as number)
    );
    for (const box of staticBoxes) this.drawBox(box, pose, camX, camY, camZ, light);
    for (const box of movingBoxes) this.drawBox(box, pose, camX, camY, camZ, light);
    this.drawGroundAndSky(town, pose, camX, camY, camZ, light);
    return this.image;
  }

  private drawBox(
    box: RenderBox,
    pose: CameraFromOdom,
    camX: number,
    camY: number,
    camZ: number,
    light: Lighting,
  ): void {
    const dxc = box.centerX - camX;
    const dyc = box.centerY - camY;
    const dist = Math.sqrt(dxc * dxc + dyc * dyc);
    const radius = Math.sqrt(box.length * box.length + box.width * box.width) / 2;
    if (dist - radius > 400) return;
    const r = pose.r;
    const { fx, fy, cx, cy, width, height } = this.model;
    // Quick frustum rejection on the bounding sphere of the box.
    const sphereZ = box.height / 2;
    const sx =
      (r[0] as number) * box.centerX +
      (r[1] as number) * box.centerY +
      (r[2] as number) * sphereZ +
      (pose.t[0] as number);
    const sy =
      (r[3] as number) * box.centerX +
      (r[4] as number) * box.centerY +
      (r[5] as number) * sphereZ +
      (pose.t[1] as number);
    const sz =
      (r[6] as number) * box.centerX +
      (r[7] as number) * box.centerY +
      (r[8] as number) * sphereZ +
      (pose.t[2] as number);
    const sphereR = Math.sqrt(radius * radius + (box.height * box.height) / 4);
    if (sz < -sphereR) return;
    const halfFovX = Math.max(cx, width - cx) / fx;
    const halfFovY = Math.max(cy, height - cy) / fy;
    if (Math.abs(sx) - sphereR * Math.sqrt(1 + halfFovX * halfFovX) > halfFovX * sz) return;
    if (Math.abs(sy) - sphereR * Math.sqrt(1 + halfFovY * halfFovY) > halfFovY * sz) return;

    const c = Math.cos(box.yawRad);
    const s = Math.sin(box.yawRad);
    const hl = box.length / 2;
    const hw = box.width / 2;
    const h = box.height;
    // The eight corners in camera coordinates: index = (x+ ? 1 : 0) | (y+ ? 2 : 0) | (top ? 4 : 0).
    const cx8 = this.cornerX;
    const cy8 = this.cornerY;
    const cz8 = this.cornerZ;
    for (let k = 0; k < 8; k++) {
      const lx = k & 1 ? hl : -hl;
      const ly = k & 2 ? hw : -hw;
      const z = k & 4 ? h : 0;
      const ox = box.centerX + c * lx - s * ly;
      const oy = box.centerY + s * lx + c * ly;
      cx8[k] = (r[0] as number) * ox + (r[1] as number) * oy + (r[2] as number) * z + (pose.t[0] as number);
      cy8[k] = (r[3] as number) * ox + (r[4] as number) * oy + (r[5] as number) * z + (pose.t[1] as number);
      cz8[k] = (r[6] as number) * ox + (r[7] as number) * oy + (r[8] as number) * z + (pose.t[2] as number);
    }
    // Faces: +x, −x, +y, −y (box axes) and the top, each as four corner indices.
    for (let face = 0; face < 5; face++) {
      const nx = face === 0 ? c : face === 1 ? -c : face === 2 ? -s : face === 3 ? s : 0;
      const ny = face === 0 ? s : face === 1 ? -s : face === 2 ? c : face === 3 ? -c : 0;
      const nz = face === 4 ? 1 : 0;
      // A point on the face.
      const fxo =
        box.centerX +
        (face === 0 ? c * hl : face === 1 ? -c * hl : face === 2 ? -s * hw : face === 3 ? s * hw : 0);
      const fyo =
        box.centerY +
        (face === 0 ? s * hl : face === 1 ? -s * hl : face === 2 ? c * hw : face === 3 ? -c * hw : 0);
      const fzo = face === 4 ? h : 0;
      if (nx * (camX - fxo) + ny * (camY - fyo) + nz * (camZ - fzo) <= 1e-9) continue;
      const base = face * 4;
      for (let k = 0; k < 4; k++) {
        const corner = FACE_CORNERS[base + k] as number;
        this.px[k] = cx8[corner] as number;
        this.py[k] = cy8[corner] as number;
        this.pz[k] = cz8[corner] as number;
      }
      // Colour: sun shading and haze, unless emissive.
      let red = box.colorRgb[0];
      let green = box.colorRgb[1];
      let blue = box.colorRgb[2];
      if (!box.emissive) {
        const lambert = Math.max(0, nx * light.sunX + ny * light.sunY + nz * light.sunZ);
        const shade = 0.5 + 0.5 * lambert;
        const haze = hazeWeight(Math.sqrt((fxo - camX) ** 2 + (fyo - camY) ** 2), light.hazeHalfDistanceM);
        const [hr, hg, hb] = hazeColor(light);
        red = red * shade * (1 - haze) + hr * haze;
        green = green * shade * (1 - haze) + hg * haze;
        blue = blue * shade * (1 - haze) + hb * haze;
      }
      this.fillPolygon(4, nx, ny, nz, fxo, fyo, fzo, pose, red, green, blue, light.exposure);
    }
  }

  /** Clips the polygon in (px, py, pz) against z ≥ NEAR_Z, projects and fills it with a depth test. */
  private fillPolygon(
    count: number,
    nxo: number,
    nyo: number,
    nzo: number,
    pxo: number,
    pyo: number,
    pzo: number,
    pose: CameraFromOdom,
    red: number,
    green: number,
    blue: number,
    exposure: number,
  ): void {
    const { px, py, pz, qx, qy, qz } = this;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const j = (i + 1) % count;
      const zi = pz[i] as number;
      const zj = pz[j] as number;
      const inI = zi >= NEAR_Z;
      const inJ = zj >= NEAR_Z;
      if (inI) {
        qx[n] = px[i] as number;
        qy[n] = py[i] as number;
        qz[n] = zi;
        n++;
      }
      if (inI !== inJ) {
        const w = (NEAR_Z - zi) / (zj - zi);
        qx[n] = (px[i] as number) + w * ((px[j] as number) - (px[i] as number));
        qy[n] = (py[i] as number) + w * ((py[j] as number) - (py[i] as number));
        qz[n] = NEAR_Z;
        n++;
      }
    }
    if (n < 3) return;
    const { fx, fy, cx, cy, width, height } = this.model;
    let minV = Number.POSITIVE_INFINITY;
    let maxV = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const z = qz[i] as number;
      const u = (fx * (qx[i] as number)) / z + cx;
      const v = (fy * (qy[i] as number)) / z + cy;
      qx[i] = u;
      qy[i] = v;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const rowStart = Math.max(0, Math.ceil(minV));
    const rowEnd = Math.min(height, Math.ceil(maxV));
    if (rowStart >= rowEnd) return;
    // Inverse depth is affine in (u, v) over a plane: 1/z = (n·ray(u, v)) / (n·p).
    const r = pose.r;
    const ncx = (r[0] as number) * nxo + (r[1] as number) * nyo + (r[2] as number) * nzo;
    const ncy = (r[3] as number) * nxo + (r[4] as number) * nyo + (r[5] as number) * nzo;
    const ncz = (r[6] as number) * nxo + (r[7] as number) * nyo + (r[8] as number) * nzo;
    const pcx =
      (r[0] as number) * pxo + (r[1] as number) * pyo + (r[2] as number) * pzo + (pose.t[0] as number);
    const pcy =
      (r[3] as number) * pxo + (r[4] as number) * pyo + (r[5] as number) * pzo + (pose.t[1] as number);
    const pcz =
      (r[6] as number) * pxo + (r[7] as number) * pyo + (r[8] as number) * pzo + (pose.t[2] as number);
    const d = ncx * pcx + ncy * pcy + ncz * pcz;
    if (Math.abs(d) < 1e-9) return;
    const a = ncx / (fx * d);
    const b = ncy / (fy * d);
    const c0 = (ncz - (ncx * cx) / fx - (ncy * cy) / fy) / d;
    const yv = clampByte(toY(red, green, blue) * exposure);
    const cbv = clampByte(128 + (toCb(red, green, blue) - 128) * Math.sqrt(exposure));
    const crv = clampByte(128 + (toCr(red, green, blue) - 128) * Math.sqrt(exposure));
    const { y: planeY, cb: planeCb, cr: planeCr } = this.image;
    const depth = this.invDepth;
    for (let row = rowStart; row < rowEnd; row++) {
      let xl = Number.POSITIVE_INFINITY;
      let xr = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const j = i + 1 === n ? 0 : i + 1;
        const vi = qy[i] as number;
        const vj = qy[j] as number;
        if ((vi <= row && row < vj) || (vj <= row && row < vi)) {
          const x = (qx[i] as number) + ((row - vi) / (vj - vi)) * ((qx[j] as number) - (qx[i] as number));
          if (x < xl) xl = x;
          if (x > xr) xr = x;
        }
      }
      if (!(xl < xr)) continue;
      const colStart = Math.max(0, Math.ceil(xl));
      const colEnd = Math.min(width, Math.ceil(xr));
      const rowBase = b * row + c0;
      let index = row * width + colStart;
      for (let col = colStart; col < colEnd; col++, index++) {
        const iz = a * col + rowBase;
        if (iz > (depth[index] as number)) {
          depth[index] = iz;
          planeY[index] = yv;
          planeCb[index] = cbv;
          planeCr[index] = crv;
        }
      }
    }
  }

  private drawGroundAndSky(
    town: Town,
    pose: CameraFromOdom,
    camX: number,
    camY: number,
    camZ: number,
    light: Lighting,
  ): void {
    const { fx, fy, cx, cy, width, height } = this.model;
    const r = pose.r;
    const exposure = light.exposure;
    const chromaGain = Math.sqrt(exposure);
    const [hr, hg, hb] = hazeColor(light);
    const hazeY = toY(hr, hg, hb);
    const hazeCb = toCb(hr, hg, hb);
    const hazeCr = toCr(hr, hg, hb);
    for (let m = 0; m < GROUND_COUNT; m++) {
      const [gr, gg, gb] = GROUND_RGB[m] as Rgb;
      this.groundY[m] = toY(gr, gg, gb);
      this.groundCb[m] = toCb(gr, gg, gb);
      this.groundCr[m] = toCr(gr, gg, gb);
    }
    const [zr, zg, zb] = light.night ? NIGHT_ZENITH : light.overcast ? OVERCAST_ZENITH : DAY_ZENITH;
    const zenithY = toY(zr, zg, zb);
    const zenithCb = toCb(zr, zg, zb);
    const zenithCr = toCr(zr, zg, zb);
    // Ray in odom for pixel (u, v): Rᵀ [(u − cx)/fx, (v − cy)/fy, 1] = dCol·u + dRow·v + d0.
    const dColX = (r[0] as number) / fx;
    const dColY = (r[1] as number) / fx;
    const dColZ = (r[2] as number) / fx;
    const dRowX = (r[3] as number) / fy;
    const dRowY = (r[4] as number) / fy;
    const dRowZ = (r[5] as number) / fy;
    const d0X = (r[6] as number) - dColX * cx - dRowX * cy;
    const d0Y = (r[7] as number) - dColY * cx - dRowY * cy;
    const d0Z = (r[8] as number) - dColZ * cx - dRowZ * cy;
    const { y: planeY, cb: planeCb, cr: planeCr } = this.image;
    const depth = this.invDepth;
    const hazeK = 1 / light.hazeHalfDistanceM;
    const groundY = this.groundY;
    const groundCb = this.groundCb;
    const groundCr = this.groundCr;
    const ground = groundSampler(town);
    const groundCount = GROUND_COUNT;
    // Per-row blended colours: haze varies slowly along a row, so it is taken once per 16-pixel span
    // from the span's first ground pixel; materials are then a table lookup.
    const spanY = new Float64Array(groundCount);
    const spanCb = new Float64Array(groundCount);
    const spanCr = new Float64Array(groundCount);
    // Haze weights are quantised to 1/48 steps (≈3 grey levels): wide bands of equal colour make
    // most 8×8 blocks uniform, which the JPEG encoder writes without a DCT.
    let lastLevel = -1;
    const blend = (t: number): void => {
      const haze = t * hazeK;
      const level = Math.round((48 * haze) / (1 + haze));
      if (level === lastLevel) return;
      lastLevel = level;
      const w = level / 48;
      const v = 1 - w;
      for (let m = 0; m < groundCount; m++) {
        spanY[m] = ((groundY[m] as number) * v + hazeY * w) * exposure + 0.5;
        spanCb[m] = 128.5 + ((groundCb[m] as number) * v + hazeCb * w - 128) * chromaGain;
        spanCr[m] = 128.5 + ((groundCr[m] as number) * v + hazeCr * w - 128) * chromaGain;
      }
    };
    const materials = this.rowMaterial;
    for (let row = 0; row < height; row++) {
      const rx = d0X + dRowX * row;
      const ry = d0Y + dRowY * row;
      const rz = d0Z + dRowZ * row;
      const rowStart = row * width;
      // Pass 1: ground materials at even columns (−1: not ground). Pass 2: an odd column between two
      // equal even neighbours takes their material; others are sampled. Only features narrower than
      // two pixels can differ from sampling every pixel.
      for (let col = 0; col < width; col += 2) {
        const dz = rz + dColZ * col;
        if ((depth[rowStart + col] as number) !== 0 || dz >= -1e-6) {
          materials[col] = -1;
          continue;
        }
        const t = -camZ / dz;
        materials[col] = ground.material(camX + t * (rx + dColX * col), camY + t * (ry + dColY * col));
      }
      let spanEnd = -1;
      let index = rowStart;
      for (let col = 0; col < width; col++, index++) {
        if ((depth[index] as number) !== 0) continue;
        const dx = rx + dColX * col;
        const dy = ry + dColY * col;
        const dz = rz + dColZ * col;
        // Every colour below is a convex blend of in-range colours scaled by exposure ≤ 1, so the
        // values stay within [0, 255]; +0.5 then truncation on store rounds them.
        if (dz < -1e-6) {
          const t = -camZ / dz;
          if (col >= spanEnd) {
            blend(t);
            spanEnd = col + 16;
          }
          let material: number;
          if ((col & 1) === 0) {
            material = materials[col] as number;
          } else {
            const left = materials[col - 1] as number;
            material =
              left >= 0 && col + 1 < width && materials[col + 1] === left
                ? left
                : ground.material(camX + t * dx, camY + t * dy);
          }
          planeY[index] = spanY[material] as number;
          planeCb[index] = spanCb[material] as number;
          planeCr[index] = spanCr[material] as number;
        } else {
          const elevation = dz / Math.sqrt(dx * dx + dy * dy + dz * dz);
          const w = elevation >= 0.4545 ? 1 : Math.round(elevation * 2.2 * 48) / 48;
          const v = 1 - w;
          planeY[index] = (hazeY * v + zenithY * w) * exposure + 0.5;
          planeCb[index] = 128.5 + (hazeCb * v + zenithCb * w - 128) * chromaGain;
          planeCr[index] = 128.5 + (hazeCr * v + zenithCr * w - 128) * chromaGain;
        }
      }
    }
  }
}

const OVERCAST_HAZE: Rgb = [168, 172, 178];
const OVERCAST_ZENITH: Rgb = [120, 126, 136];
const DAY_HAZE: Rgb = [200, 212, 226];
const DAY_ZENITH: Rgb = [86, 138, 214];
const NIGHT_HAZE: Rgb = [40, 44, 60];
const NIGHT_ZENITH: Rgb = [6, 8, 20];

const hazeColor = (light: Lighting): Rgb =>
  light.night ? NIGHT_HAZE : light.overcast ? OVERCAST_HAZE : DAY_HAZE;

function hazeWeight(distance: number, halfDistance: number): number {
  const h = distance / halfDistance;
  return h / (1 + h);
}

function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
}
