/**
 * The 3D skeleton view (three.js): joints as spheres, bones as lines, one colour per person, a floor
 * grid under the sequence, orbit controls. It renders on demand (a new frame, an orbit move, a resize)
 * rather than in a loop, so a paused page costs no CPU.
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
  Vector3,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import type { SkeletonSequence } from '../src/data/types.js';

const PERSON_COLOURS = ['#ff7a45', '#36cfc9', '#ffd666', '#95de64'];
const BACKGROUND = '#1d2230';

export type Bones = readonly (readonly [number, number])[];

export class SkeletonView {
  private readonly renderer: WebGLRenderer;
  private readonly scene = new Scene();
  private readonly camera = new PerspectiveCamera(45, 1, 1, 1e6);
  private readonly controls: OrbitControls;
  private joints: InstancedMesh | null = null;
  private bones: LineSegments | null = null;
  private grid: GridHelper | null = null;
  private boneList: Bones = [];
  private renderQueued = false;

  /** Throws when the browser has no WebGL; the page then runs without the view. */
  constructor(private readonly container: HTMLElement) {
    this.renderer = new WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(window.devicePixelRatio);
    container.append(this.renderer.domElement);
    this.scene.background = new Color(BACKGROUND);
    this.scene.add(new HemisphereLight('#ffffff', '#445066', 3));
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.addEventListener('change', () => this.requestRender());
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** Shows a new sequence: rebuilds the meshes for its persons and joints and frames the camera on it. */
  setSequence(sequence: SkeletonSequence, bones: Bones): void {
    this.clear();
    const { persons, joints } = sequence;
    const extent = this.frameCamera(sequence);
    const sphere = new SphereGeometry(extent * 0.012, 12, 8);
    this.joints = new InstancedMesh(sphere, new MeshStandardMaterial({ roughness: 0.5 }), persons * joints);
    for (let p = 0; p < persons; p++) {
      const colour = new Color(PERSON_COLOURS[p % PERSON_COLOURS.length]);
      for (let j = 0; j < joints; j++) this.joints.setColorAt(p * joints + j, colour);
    }
    this.boneList = bones;
    const geometry = new BufferGeometry();
    geometry.setAttribute('position', new BufferAttribute(new Float32Array(persons * bones.length * 6), 3));
    geometry.setAttribute('color', new BufferAttribute(boneColours(persons, bones.length), 3));
    this.bones = new LineSegments(geometry, new LineBasicMaterial({ vertexColors: true }));
    this.scene.add(this.joints, this.bones);
  }

  showFrame(sequence: SkeletonSequence, frame: number): void {
    if (!this.joints || !this.bones) return;
    const { persons, joints, positions } = sequence;
    const base = frame * persons * joints * 3;
    const matrix = new Matrix4();
    for (let n = 0; n < persons * joints; n++) {
      const at = base + n * 3;
      this.joints.setMatrixAt(n, matrix.makeTranslation(positions[at], positions[at + 1], positions[at + 2]));
    }
    this.joints.instanceMatrix.needsUpdate = true;
    const line = this.bones.geometry.getAttribute('position') as BufferAttribute;
    let vertex = 0;
    for (let p = 0; p < persons; p++) {
      for (const [a, b] of this.boneList) {
        for (const joint of [a, b]) {
          const at = base + (p * joints + joint) * 3;
          line.setXYZ(vertex++, positions[at], positions[at + 1], positions[at + 2]);
        }
      }
    }
    line.needsUpdate = true;
    this.requestRender();
  }

  /** Points the camera at the sequence's bounding box (all frames) and lays the floor under it. */
  private frameCamera(sequence: SkeletonSequence): number {
    const min = new Vector3(Infinity, Infinity, Infinity);
    const max = new Vector3(-Infinity, -Infinity, -Infinity);
    const point = new Vector3();
    for (let i = 0; i < sequence.positions.length; i += 3) {
      point.fromArray(sequence.positions, i);
      min.min(point);
      max.max(point);
    }
    const center = min.clone().add(max).multiplyScalar(0.5);
    const extent = Math.max(max.clone().sub(min).length(), 1e-6);
    this.controls.target.copy(center);
    this.camera.position.copy(center).add(new Vector3(0.35, 0.25, 1).multiplyScalar(extent * 1.2));
    this.camera.near = extent / 100;
    this.camera.far = extent * 100;
    this.camera.updateProjectionMatrix();
    this.grid = new GridHelper(extent * 2, 10, '#56607a', '#343b4f');
    this.grid.position.set(center.x, min.y, center.z);
    this.scene.add(this.grid);
    this.controls.update();
    return extent;
  }

  private clear(): void {
    for (const object of [this.joints, this.bones, this.grid]) {
      if (!object) continue;
      this.scene.remove(object);
      object.geometry.dispose();
      const materials = Array.isArray(object.material) ? object.material : [object.material];
      for (const material of materials) material.dispose();
    }
    this.joints = this.bones = this.grid = null;
  }

  private resize(): void {
    const { clientWidth: width, clientHeight: height } = this.container;
    if (width === 0 || height === 0) return;
    this.renderer.setSize(width, height);
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
