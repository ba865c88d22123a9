/**
 * The 3D skeleton view (three.js): joints as spheres, bones as lines, one colour per person, a floor
 * grid under the skeleton, orbit controls by mouse, touch and keyboard (arrow keys orbit, Shift+arrows
 * pan, + and − zoom, 0 resets). It renders on demand (a new frame, an orbit move, a resize) rather
 * than in a loop, so a paused page costs no CPU.
 */
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  GridHelper,
  HemisphereLight,
  InstancedMesh,
  LineBasicMaterial,
  LineSegments,
  Matrix4,
  MeshStandardMaterial,
  PerspectiveCamera,
  Scene,
  SphereGeometry,
  Spherical,
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

const PERSON_COLOURS = ['#ff7a45', '#36cfc9', '#ffd666', '#95de64'];
const BACKGROUND = '#1d2230';
const ORBIT_STEP = Math.PI / 18;
const ZOOM_STEP = 1.15;

export type Bones = readonly (readonly [number, number])[];

/** What the view draws: the skeleton's layout and the box its positions stay in (for the camera). */
export interface SkeletonLayout {
  persons: number;
  joints: number;
  bones: Bones;
  /** Centre and size of the region the positions occupy. */
  center: readonly [number, number, number];
  extent: number;
  /** Height of the floor grid. */
  floor: number;
}

/** The layout of a whole recorded sequence: its bounding box over all frames. */
export function layoutOf(
  positions: Float32Array,
  persons: number,
  joints: number,
  bones: Bones,
): SkeletonLayout {
  const min = [Infinity, Infinity, Infinity];
  const max = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < positions.length; i++) {
    const axis = i % 3;
    min[axis] = Math.min(min[axis], positions[i]);
    max[axis] = Math.max(max[axis], positions[i]);
  }
  const center = [0, 1, 2].map((a) => (min[a] + max[a]) / 2) as [number, number, number];
  const extent = Math.max(Math.hypot(max[0] - min[0], max[1] - min[1], max[2] - min[2]), 1e-6);
  return { persons, joints, bones, center, extent, floor: min[1] };
}

export class SkeletonView {
  private readonly renderer: WebGLRenderer;
  private readonly scene = new Scene();
  private readonly camera = new PerspectiveCamera(45, 1, 1, 1e6);
  private readonly controls: OrbitControls;
  private joints: InstancedMesh | null = null;
  private bones: LineSegments | null = null;
  private grid: GridHelper | null = null;
  private layout: SkeletonLayout | null = null;
  private renderQueued = false;

  /** Throws when the browser has no WebGL; the page then runs without the view. */
  constructor(private readonly container: HTMLElement) {
    this.renderer = new WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(window.devicePixelRatio);
    // The canvas fills its container (CSS), so it never widens the page when the window shrinks.
    this.renderer.domElement.setAttribute('aria-hidden', 'true');
    container.append(this.renderer.domElement);
    this.scene.background = new Color(BACKGROUND);
    this.scene.add(new HemisphereLight('#ffffff', '#445066', 3));
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.addEventListener('change', () => this.requestRender());
    // Keyboard control: the view takes focus (index.html gives it its role and instructions).
    container.tabIndex = 0;
    container.addEventListener('keydown', (event) => this.onKey(event));
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** Shows a new skeleton: rebuilds the meshes for its persons and joints and frames the camera on it. */
  setLayout(layout: SkeletonLayout): void {
    this.clear();
    this.layout = layout;
    const { persons, joints, bones, extent } = layout;
    this.frameCamera();
    const sphere = new SphereGeometry(extent * 0.012, 12, 8);
    this.joints = new InstancedMesh(sphere, new MeshStandardMaterial({ roughness: 0.5 }), persons * joints);
    for (let p = 0; p < persons; p++) {
      const colour = new Color(PERSON_COLOURS[p % PERSON_COLOURS.length]);
      for (let j = 0; j < joints; j++) this.joints.setColorAt(p * joints + j, colour);
    }
    const geometry = new BufferGeometry();
    geometry.setAttribute('position', new BufferAttribute(new Float32Array(persons * bones.length * 6), 3));
    geometry.setAttribute('color', new BufferAttribute(boneColours(persons, bones.length), 3));
    this.bones = new LineSegments(geometry, new LineBasicMaterial({ vertexColors: true }));
    this.hide();
    this.scene.add(this.joints, this.bones);
  }

  /** Draws one frame: persons × joints × 3 coordinates starting at `offset` of `positions`. */
  show(positions: ArrayLike<number>, offset = 0): void {
    if (!this.joints || !this.bones || !this.layout) return;
    const { persons, joints, bones } = this.layout;
    const matrix = new Matrix4();
    for (let n = 0; n < persons * joints; n++) {
      const at = offset + n * 3;
      this.joints.setMatrixAt(n, matrix.makeTranslation(positions[at], positions[at + 1], positions[at + 2]));
    }
    this.joints.instanceMatrix.needsUpdate = true;
    this.joints.visible = true;
    const line = this.bones.geometry.getAttribute('position') as BufferAttribute;
    let vertex = 0;
    for (let p = 0; p < persons; p++) {
      for (const [a, b] of bones) {
        for (const joint of [a, b]) {
          const at = offset + (p * joints + joint) * 3;
          line.setXYZ(vertex++, positions[at], positions[at + 1], positions[at + 2]);
        }
      }
    }
    line.needsUpdate = true;
    this.bones.visible = true;
    this.requestRender();
  }

  /** Hides the skeleton (e.g. no hand in view), keeping the floor. */
  hide(): void {
    if (this.joints) this.joints.visible = false;
    if (this.bones) this.bones.visible = false;
    this.requestRender();
  }

  /** Points the camera at the layout's box and lays the floor under it. */
  private frameCamera(): void {
    if (!this.layout) return;
    const { extent, floor } = this.layout;
    const center = new Vector3(...this.layout.center);
    this.controls.target.copy(center);
    this.camera.position.copy(center).add(new Vector3(0.35, 0.25, 1).multiplyScalar(extent * 1.2));
    this.camera.near = extent / 100;
    this.camera.far = extent * 100;
    this.camera.updateProjectionMatrix();
    if (this.grid) {
      this.scene.remove(this.grid);
      this.grid.dispose();
    }
    this.grid = new GridHelper(extent * 2, 10, '#56607a', '#343b4f');
    this.grid.position.set(center.x, floor, center.z);
    this.scene.add(this.grid);
    this.controls.update();
    this.requestRender();
  }

  /** Arrow keys orbit (Shift: pan), + and − zoom, 0 or Home puts the camera back. */
  private onKey(event: KeyboardEvent): void {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const arrows: Record<string, [number, number]> = {
      ArrowLeft: [-1, 0],
      ArrowRight: [1, 0],
      ArrowUp: [0, -1],
      ArrowDown: [0, 1],
    };
    const arrow = arrows[event.key];
    if (arrow && event.shiftKey) this.pan(arrow[0], -arrow[1]);
    else if (arrow) this.orbit(arrow[0] * ORBIT_STEP, arrow[1] * ORBIT_STEP);
    else if (event.key === '+' || event.key === '=') this.zoom(1 / ZOOM_STEP);
    else if (event.key === '-' || event.key === '_') this.zoom(ZOOM_STEP);
    else if (event.key === '0' || event.key === 'Home') this.frameCamera();
    else return;
    event.preventDefault();
    this.requestRender();
  }

  private offset(): Vector3 {
    return this.camera.position.clone().sub(this.controls.target);
  }

  private orbit(azimuth: number, polar: number): void {
    const spherical = new Spherical().setFromVector3(this.offset());
    spherical.theta -= azimuth;
    spherical.phi = Math.min(Math.max(spherical.phi + polar, 0.05), Math.PI - 0.05);
    this.camera.position.copy(this.controls.target).add(new Vector3().setFromSpherical(spherical));
    this.controls.update();
  }

  private zoom(factor: number): void {
    this.camera.position.copy(this.controls.target).add(this.offset().multiplyScalar(factor));
    this.controls.update();
  }

  private pan(right: number, up: number): void {
    const step = this.offset().length() * 0.08;
    const x = new Vector3().setFromMatrixColumn(this.camera.matrix, 0).multiplyScalar(right * step);
    const y = new Vector3().setFromMatrixColumn(this.camera.matrix, 1).multiplyScalar(up * step);
    const move = x.add(y);
    this.camera.position.add(move);
    this.controls.target.add(move);
    this.controls.update();
  }

  private clear(): void {
    for (const object of [this.joints, this.bones]) {
      if (!object) continue;
      this.scene.remove(object);
      object.geometry.dispose();
      const materials = Array.isArray(object.material) ? object.material : [object.material];
      for (const material of materials) material.dispose();
    }
    this.joints = this.bones = null;
  }

  private resize(): void {
    const { clientWidth: width, clientHeight: height } = this.container;
    if (width === 0 || height === 0) return;
    // false: the canvas's CSS size stays 100% of the container (style.css), never a fixed pixel width.
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  private requestRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.renderer.render(this.scene, this.camera);
    });
  }
}

/** Per-vertex colours of the bone lines: each person's bones in its colour. */
function boneColours(persons: number, bones: number): Float32Array {
  const colours = new Float32Array(persons * bones * 6);
  for (let p = 0; p < persons; p++) {
    const colour = new Color(PERSON_COLOURS[p % PERSON_COLOURS.length]);
    for (let v = 0; v < bones * 2; v++) colour.toArray(colours, (p * bones * 2 + v) * 3);
  }
  return colours;
}
